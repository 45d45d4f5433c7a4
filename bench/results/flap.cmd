ringvisor-bench flap --duration 10s --peer s6=$SCRATCH/flap-s6-1 --peer runit=$SCRATCH/flap-runit-1 --peer supervisord=$SCRATCH/flap-supervisord-1 --plot bench/results/flap.png
