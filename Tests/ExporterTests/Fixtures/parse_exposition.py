"""Parses Prometheus exposition text from stdin with prometheus_client's
parser (independent of pipetrace) and prints one JSON line per sample:
{"name", "labels", "value", "type"}."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        print(json.dumps({"family": family.name, "type": family.type, "name": s.name,
                          "labels": s.labels, "value": s.value}, sort_keys=True))
