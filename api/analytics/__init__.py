"""The admin intelligence hub: viewing facts, stream events, QoE beacons and the materialized
views the hub reads (issue 18)."""
