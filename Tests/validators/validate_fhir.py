"""Validate FHIR R4 (4.0.1) JSON with two independent validators nobody here wrote.

Usage: validate_fhir.py FILE_OR_DIR...   (a directory: every *.json inside)

Each file holds one resource (a transaction Bundle counts as one; its entries are checked
inside it). fhirkit-rs reports every problem with its path; fhir.resources (pydantic
models) stops at the first. Prints one line per problem and a closing count; exits 1 when
any file has an error.
"""
import json
import pathlib
import sys

import fhirkit
from fhir.resources import get_fhir_model_class


def problems(data):
    # A batch of searches has entries with a request and no resource: only resources are checked inside.
    found = [f"entry[{i}]: {problem}" for i, entry in enumerate(data.get("entry", []))
             if data.get("resourceType") == "Bundle" and "resource" in entry for problem in problems(entry["resource"])]
    found += [f"fhirkit: {issue.path}: {issue.message}" for issue in fhirkit.validate(data) if issue.severity in ("error", "fatal")]
    try:
        get_fhir_model_class(data["resourceType"]).parse_obj(data)
    except Exception as error:  # the model's own message names the field
        found.append("fhir.resources: " + " ".join(str(error).split()))
    return found


def main(arguments):
    files = []
    for argument in arguments:
        path = pathlib.Path(argument)
        files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    failed = 0
    for file in files:
        data = json.loads(file.read_text())
        found = problems(data)
        if found:
            failed += 1
            for problem in found:
                print(f"{file.name}: {data.get('resourceType')}: {problem}")
    print(f"validated {len(files)} FHIR resources: {len(files) - failed} passed, {failed} failed")
    return 1 if failed or not files else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
