ringvisor-bench storm -n 1000 --peer s6=$SCRATCH/storm-s6-1000 --peer runit=$SCRATCH/storm-runit-1000 --plot bench/results/storm.png
