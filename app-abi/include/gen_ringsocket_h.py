#!/usr/bin/env python3
"""Writes the repetitive macro ladders of ringsocket.h between its GENERATED markers.

RS_NARG16_/RS_PARAMS_<k>: a read callback plus up to 15 parameters.
RS_NARG255_/RS_CF_<k>/RS_CS_<k>: up to 255 RS_READ_SWITCH cases.
Run from anywhere: python3 app-abi/include/gen_ringsocket_h.py
"""
import pathlib

MAX_PARAMS = 15
MAX_CASES = 255


def narg(name, n):
    params = ", ".join(f"_{i}" for i in range(1, n + 1))
    counts = ", ".join(str(i) for i in range(n, 0, -1))
    return [
        f"#define {name}(...) {name}I_(__VA_ARGS__, {counts}, ~)",
        f"#define {name}I_({params}, N, ...) N",
    ]


def generate():
    out = ["// Counting arguments (one more than the limit is a compile error)."]
    out += narg("RS_NARG16_", MAX_PARAMS + 1)
    out += narg("RS_NARG255_", MAX_CASES)
    out.append("// A read function's body for a callback and k - 1 parameters.")
    for k in range(1, MAX_PARAMS + 2):
        ps = [f"p{i}" for i in range(1, k)]
        tot = k - 1
        head = ", ".join(["cb"] + ps)
        decs = " ".join(f"RS_DEC_({i}, {tot}, p{i})" for i in range(1, k))
        args = " ".join(f"RS_ARG_({i}, p{i})" for i in range(1, k))
        out.append(
            f"#define RS_PARAMS_{k}({head}) {decs} if (rs_off_ != n) "
            f"{{ return RS_CLOSE_WRONG_SIZE; }} return cb(rs {args});".replace("  ", " ")
        )
    out.append("// Switch cases, last to first: their functions (RS_CF_) and switch lines (RS_CS_).")
    for k in range(1, MAX_CASES + 1):
        if k == 1:
            out.append("#define RS_CF_1(c) RS_CASE_FN_(1, c)")
            out.append("#define RS_CS_1(c) RS_CASE_SW_(1, c)")
        else:
            out.append(f"#define RS_CF_{k}(c, ...) RS_CASE_FN_({k}, c) RS_CF_{k - 1}(__VA_ARGS__)")
            out.append(f"#define RS_CS_{k}(c, ...) RS_CASE_SW_({k}, c) RS_CS_{k - 1}(__VA_ARGS__)")
    return "\n".join(out)


def main():
    path = pathlib.Path(__file__).with_name("ringsocket.h")
    text = path.read_text()
    begin, end = "// BEGIN GENERATED\n", "// END GENERATED\n"
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    path.write_text(head + begin + generate() + "\n" + end + tail)


if __name__ == "__main__":
    main()
