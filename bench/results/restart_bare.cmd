ringvisor-bench restart --samples 30 --uptime 0.5s --service bare --plot bench/results/restart_bare.png --histogram bench/results/restart_bare.csv
