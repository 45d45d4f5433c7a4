ringvisor-bench timers --count 4000 --block 500 --plot bench/results/timers.png --histogram bench/results/timers.csv
