ringvisor-bench scale --counts 100,1000,10000 --idle 10s --idle-counts 1000 --peer s6=$SCRATCH/scale-s6-%n --peer runit=$SCRATCH/scale-runit-%n --peer supervisord=$SCRATCH/scale-supervisord-%n
