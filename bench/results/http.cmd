ringvisor-bench http --json --plot bench/results/http.png
