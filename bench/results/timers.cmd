ringvisor-bench timers --count 8000 --block 100 --spin 200us --plot bench/results/timers.png --histogram bench/results/timers.csv
