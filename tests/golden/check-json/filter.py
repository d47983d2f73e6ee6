# Normalizes a weightlint JSON/SARIF report for golden comparison: floats to 6 significant
# digits (the last bits of BLAS output must not churn the files) and weightlint's own version
# (the VERSION file) to "X". Run from the repository root.
import json
import sys

TOOL_VERSION = open("VERSION").read().strip()


def norm(x):
    if isinstance(x, float):
        return float("%.6g" % x)
    if isinstance(x, list):
        return [norm(i) for i in x]
    if isinstance(x, dict):
        return {k: norm(v) for k, v in x.items()}
    if isinstance(x, str) and x == TOOL_VERSION:
        return "X"
    return x


print(json.dumps(norm(json.load(open(sys.argv[1]))), indent=2))
