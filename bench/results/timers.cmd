ringvisor-bench timers --count 4000 --block 100 --plot bench/results/timers.png --histogram bench/results/timers.csv
