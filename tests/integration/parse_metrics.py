"""Parses a Prometheus text exposition with the reference client's parser (python3-prometheus-client)
and prints its samples as JSON: {"families": {name: type}, "samples": [[name, labels, value]]}.
Exits non-zero, with the parser's error, on text the parser refuses. Usage: parse_metrics.py FILE"""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    families = {}
    samples = []
    for family in text_string_to_metric_families(text):
        families[family.name] = family.type
        for s in family.samples:
            value = s.value
            if math.isinf(value):
                value = "+Inf"
            samples.append([s.name, s.labels, value])
    json.dump({"families": families, "samples": samples}, sys.stdout)


if __name__ == "__main__":
    main()
