ringvisor-bench http --plot /tmp/cmp-out/results/http.png
