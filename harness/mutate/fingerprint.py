"""What it means for a mutant to compile to the original's code.

Vyper appends CBOR metadata to the initcode, and since 0.4.1 that metadata
carries an integrity hash of the sources: any edit, even a comment, changes
it. So initcode is compared without its metadata, runtime code as is (it
has none), and the ABI too (a mutated constant can change a public getter's
value but a mutated type changes the ABI).
"""
import hashlib
import json


def strip_metadata(hex_code: str) -> str:
    code = bytes.fromhex(hex_code[2:] if hex_code.startswith("0x") else hex_code)
    if len(code) < 2:
        return code.hex()
    n = int.from_bytes(code[-2:], "big")
    # The last two bytes are the metadata's length, themselves included;
    # trust them only when they delimit a CBOR array or map.
    if 2 < n <= len(code) and code[-n] >> 5 in (4, 5):
        code = code[:-n]
    return code.hex()


def fingerprint(artifact: dict) -> str:
    body = {
        "abi": artifact["abi"],
        "runtime": artifact["bytecode_runtime"],
        "init": strip_metadata(artifact["bytecode"]),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
