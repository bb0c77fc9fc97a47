"""Same command, same bytes: the outputs of a fixed small run, before and after a change of the code.

    python bench/same_bytes.py [--base REV] [--head REV_OR_WORKTREE] [--keep DIR] [--data-root DIR]

What it proves: for each of six fixed small commands (``commands()``: cascading, independent and noise
model randomization, data randomization, the sanity report, and a split and resumed cascading run),
the files the base revision writes and the files the head revision writes are equal byte for byte
(issue 22, point 4: "the same command gives byte-identical results.csv, summary.json and report tables
before and after"). Run with --head equal to --base, it
proves that the bench itself is deterministic (a run compared with itself).

How:

1. Each revision is exported (``git archive``; a worktree folder is copied as it is, uncommitted
   changes included, with ``git ls-files --cached --others --exclude-standard``) and run in turn from
   the SAME temporary folder ``TMP/tree``, with ``TMP/tree/data`` a link to the data folder, so that
   both revisions see the same absolute paths. Afterwards each tree is moved to ``TMP/base`` or
   ``TMP/head`` (kept with --keep DIR, else removed).
2. The base revision's training script trains, once, two quick MNIST CNNs into ``TMP/models`` (2 epochs
   on the first 4,000 training images, seed 0; and 1 epoch on 2,000 with ``--randlabels``, which learns
   nothing and need not: the test compares code, not models); both revisions use these models at the
   same absolute paths.
3. Each revision runs the commands of ``commands()`` (subprocess, ``PYTHONPATH=TMP/tree/src``, cwd
   ``TMP/tree``, the same relative ``--out out/<command>``, ``--threads 1`` everywhere, on the CPU).
   ``cascading_split`` is the ``cascading`` run split differently and resumed: one task per image,
   shard 1/2 first, then the same command with 2 worker processes finishes and merges it.
4. For each command, every file in its output folder except PNG figures and ``parts/`` is compared
   byte for byte between the two revisions: results.csv, summary.json, run.json, the report's per-check
   .csv/.json and _maps.npz (written without time stamps), and of ``report.md`` only its table lines
   (lines starting with ``|``; a difference in its other lines is printed as a note, not counted).
   Within each revision, ``cascading_split``'s results.csv and summary.json must also equal
   ``cascading``'s.

PNG figures and ``parts/`` are not counted (the issue asks for the results, summaries and report
tables); one line says how many of the base's PNG files are the same in head anyway.

Output: one line per file, ``same  <command>/<file>`` or ``DIFFERS <command>/<file>`` followed by the
first differing line of each side (for .npz, the first differing byte), then ``same: N of M files``.
Exit status 0 only if every file is the same and every command ran. It takes 4-6 minutes on 2 shared
cores (about 4 minutes of CPU); the commands' console output is in ``TMP/logs`` (kept with --keep).

Masked fields: none. The only absolute path in the compared files is the model folder (summary.json's
"model", report.md's first line), the same ``TMP/models/...`` for both revisions by construction; no
output names the tree, which is anyway the same ``TMP/tree`` for both.
"""
import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINING = {"cnn_mnist": ["--nepochs", "2", "--max-train", "4000"],               # test accuracy ~0.9
            "cnn_mnist_randlabels": ["--randlabels", "--nepochs", "1", "--max-train", "2000"]}
SPLIT = {"cascading_split": "cascading"}      # a split run and the serial run it must equal
SPLIT_FILES = ("results.csv", "summary.json")


def commands(models):
    """[(name, [argv, ...])]: each command's invocations (scripts under src/), without --out."""
    cnn, rand = os.path.join(models, "cnn_mnist"), os.path.join(models, "cnn_mnist_randlabels")
    threads = ["--threads", "1"]   # bytes depend on TensorFlow threads per worker: the same everywhere
    model = ["run_model_randomization.py", "--model", cnn]
    cascading = [*model, "--mode", "cascading", "--quick", "--images", "3", "--eval-images", "50", *threads]
    return [
        ("cascading", [cascading]),
        ("independent", [[*model, "--mode", "independent", "--methods", "gradient", "smoothgrad", "--quick",
                          "--images", "3", "--eval-images", "50", *threads]]),
        ("noise", [[*model, "--mode", "noise", "--noise-levels", "0.1", "--quick", "--images", "2",
                    "--eval-images", "50", *threads]]),
        ("data_randomization", [["run_data_randomization.py", "--model", cnn, "--random-model", rand, "--quick",
                                 "--images", "3", *threads]]),
        ("report", [["sanity_report.py", "--model", cnn, "--quick", "--images", "3", *threads]]),
        ("cascading_split", [[*cascading, "--images-per-task", "1", "--shard", "1/2"],
                             [*cascading, "--images-per-task", "1", "--workers", "2"]]),
    ]


def git(*args, cwd=HERE):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def resolve(spec):
    """(label, kind, value): a worktree folder, or a revision resolved to its commit."""
    if os.path.isdir(spec):
        top = git("rev-parse", "--show-toplevel", cwd=spec)
        dirty = git("status", "--porcelain", "--untracked-files=no", cwd=top)
        label = f"worktree {top} (HEAD {git('rev-parse', '--short', 'HEAD', cwd=top)}" \
                f"{', with uncommitted changes' if dirty else ''})"
        return label, "worktree", top
    sha = git("rev-parse", "--verify", spec + "^{commit}")
    return f"{sha[:7]} {git('log', '-1', '--format=%s', sha)[:70]}", "rev", sha


def export(kind, value, dest, data_root):
    """Put the tree of a revision (or a copy of a worktree) at dest, with dest/data -> data_root."""
    os.makedirs(dest)
    if kind == "rev":
        tar = dest + ".tar"
        git("archive", "--format=tar", "-o", tar, value, cwd=git("rev-parse", "--show-toplevel"))   # not a subfolder
        with tarfile.open(tar) as t:
            t.extractall(dest, filter="tar")
        os.remove(tar)
    else:
        names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=value,
                               check=True, capture_output=True).stdout.decode().split("\0")
        for name in filter(None, names):
            src = os.path.join(value, name)
            if name.split("/")[0] == "data" or not os.path.lexists(src):   # data is linked below; deleted files
                continue
            os.makedirs(os.path.dirname(os.path.join(dest, name)), exist_ok=True)
            shutil.copy2(src, os.path.join(dest, name), follow_symlinks=False)
    if os.path.lexists(os.path.join(dest, "data")):
        os.remove(os.path.join(dest, "data"))
    os.symlink(data_root, os.path.join(dest, "data"))


def run(python, tree, argv, log):
    """Run src/<script> in tree with tree's own package; True if it exited 0."""
    env = dict(os.environ, PYTHONPATH=os.path.join(tree, "src"), CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2")
    with open(log, "a") as f:
        f.write("$ " + " ".join(argv) + "\n")
        f.flush()
        code = subprocess.run([python, os.path.join("src", argv[0]), *argv[1:]], cwd=tree, env=env,
                              stdout=f, stderr=subprocess.STDOUT).returncode
    if code:
        with open(log) as f:
            tail = f.read().splitlines()[-5:]
        print(f"FAILED {os.path.basename(log)[:-4]}: {' '.join(argv[:1])} exited {code}; last lines of {log}:")
        print("\n".join("  " + line for line in tail))
    return code == 0


def output_files(folder):
    """Relative paths of a command's output files, without PNG figures and parts/."""
    found = set()
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not (root == folder and d == "parts")]
        for name in names:
            if not name.endswith(".png"):
                found.add(os.path.relpath(os.path.join(root, name), folder))
    return found


def lines_of(path, tables_only=False):
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    return [line for line in lines if line.startswith(b"|")] if tables_only else lines


def first_difference(a, b):
    """(line number, line of a, line of b) of the first difference of two lists of byte lines."""
    for i in range(max(len(a), len(b))):
        left = a[i] if i < len(a) else b"(end of file)"
        right = b[i] if i < len(b) else b"(end of file)"
        if left != right:
            return i + 1, left, right
    return None


def show(line, other, limit=160):
    """A line as text, cut around its first character that differs from the other line when long."""
    text, other = (x.decode(errors="replace").rstrip("\r\n") for x in (line, other))
    if len(text) <= limit:
        return text
    at = next((i for i, (a, b) in enumerate(zip(text, other)) if a != b), min(len(text), len(other)))
    begin = max(0, at - limit // 3)
    return ("..." if begin else "") + text[begin:begin + limit] + ("..." if begin + limit < len(text) else "")


def is_text(path):
    try:
        with open(path, encoding="utf-8") as f:
            f.read()
        return True
    except (UnicodeDecodeError, OSError):
        return False


def compare(label, path_a, path_b, names=("base", "head"), tables_only=False):
    """Print one line (and the first differing lines); True if equal."""
    a, b = lines_of(path_a, tables_only), lines_of(path_b, tables_only)
    if a is not None and a == b:
        print(f"same  {label}")
        return True
    print(f"DIFFERS {label}")
    if a is None or b is None:
        for name, side in zip(names, (a, b)):
            print(f"  {name}: {'(missing)' if side is None else '(present)'}")
    elif is_text(path_a) and is_text(path_b):
        line, left, right = first_difference(a, b)
        what = "table line" if tables_only else "line"
        print(f"  {names[0]} {what} {line}: {show(left, right)}")
        print(f"  {names[1]} {what} {line}: {show(right, left)}")
    else:   # .npz: no lines to show
        a, b = b"".join(a), b"".join(b)
        at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        print(f"  binary files of {len(a)} and {len(b)} bytes, first difference at byte {at}")
    return False


def compare_outputs(tmp, command_names, ran, logs):
    """Compare TMP/base/out/<command> with TMP/head/out/<command>, and each split run with its serial run;
    print one line per file; (files the same, files compared)."""
    same = total = 0
    sides = ("base", "head")
    for command in command_names:
        folders = [os.path.join(tmp, name, "out", command) for name in sides]
        for file in sorted(output_files(folders[0]) | output_files(folders[1])):
            report = os.path.basename(file) == "report.md"
            label = f"{command}/{file}" + (" (table lines only)" if report else "")
            ok = compare(label, *(os.path.join(folder, file) for folder in folders), tables_only=report)
            same, total = same + ok, total + 1
            if ok and report:
                whole = first_difference(*(lines_of(os.path.join(folder, file)) for folder in folders))
                if whole:
                    print(f"  note (not counted): its lines outside the tables differ, first at line {whole[0]}:")
                    print(f"    base: {show(whole[1], whole[2])}\n    head: {show(whole[2], whole[1])}")
        for name in sides:
            if not ran.get((name, command)):
                print(f"DIFFERS {command}: the {name} command failed (log: {logs}/{name}_{command}.log)")
                total += 1
    figures = [os.path.relpath(os.path.join(root, name), os.path.join(tmp, "base", "out"))
               for root, _, names in os.walk(os.path.join(tmp, "base", "out")) if os.path.basename(root) != "parts"
               for name in names if name.endswith(".png")]
    equal = sum(filecmp.cmp(*(os.path.join(tmp, side, "out", figure) for side in sides), shallow=False)
                for figure in figures if os.path.exists(os.path.join(tmp, "head", "out", figure)))
    print(f"figures (not counted): {equal} of {len(figures)} of base's PNG files the same in head")
    for split, serial in SPLIT.items():
        for name in sides:
            for file in SPLIT_FILES:
                ok = compare(f"{split}/{file} = {serial}/{file} ({name})",
                             *(os.path.join(tmp, name, "out", folder, file) for folder in (split, serial)),
                             names=(split, serial))
                same, total = same + ok, total + 1
    return same, total


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", default="5352693", help="revision before the change (default 5352693, the last "
                                                     "commit before the issue 22 refactor)")
    p.add_argument("--head", default=None, help="revision or worktree folder after the change (default: the "
                                                "working tree this script is in)")
    p.add_argument("--keep", metavar="DIR", help="work in DIR (new or empty) and keep it: trees, models, outputs, "
                                                 "logs")
    p.add_argument("--data-root", default=None, help="the data folder the trees link as data/ (default "
                                                     "<repo>/data)")
    p.add_argument("--python", default=sys.executable, help="interpreter for the commands (default: this one)")
    args = p.parse_args(argv)
    repo = git("rev-parse", "--show-toplevel")
    data_root = os.path.realpath(args.data_root or os.path.join(repo, "data"))
    if not os.path.isdir(data_root):
        p.error(f"no data folder at {data_root} (--data-root)")
    sides = {"base": resolve(args.base), "head": resolve(args.head or repo)}
    if args.keep:
        if os.path.exists(args.keep) and os.listdir(args.keep):
            p.error(f"--keep {args.keep} is not empty")
        os.makedirs(args.keep, exist_ok=True)
        tmp = os.path.abspath(args.keep)
    else:
        tmp = tempfile.mkdtemp(prefix="same_bytes_")
    tree, models, logs = (os.path.join(tmp, name) for name in ("tree", "models", "logs"))
    os.makedirs(logs)
    for name, (label, _, _) in sides.items():
        print(f"{name}: {label}")
    print(f"work folder: {tmp}{'' if args.keep else ' (removed at the end; --keep DIR to keep it)'}", flush=True)
    start, ran = time.time(), {}
    try:
        for name, (label, kind, value) in sides.items():
            export(kind, value, tree, data_root)
            if name == "base":
                t = time.time()
                for model, options in TRAINING.items():
                    if not run(args.python, tree, ["train_cnn_models.py", "--data", "mnist", "--seed", "0", *options,
                                                   "--savemodelpath", models], os.path.join(logs, "train.log")):
                        return 2
                print(f"trained the quick CNNs with the base revision in {time.time() - t:.0f} s", flush=True)
            t = time.time()
            for command, invocations in commands(models):
                out = os.path.join("out", command)
                ran[name, command] = all(run(args.python, tree, [*argv, "--out", out],
                                             os.path.join(logs, f"{name}_{command}.log")) for argv in invocations)
            print(f"ran the {name} commands in {time.time() - t:.0f} s", flush=True)
            os.rename(tree, os.path.join(tmp, name))

        same, total = compare_outputs(tmp, [command for command, _ in commands(models)], ran, logs)
        print(f"time: {time.time() - start:.0f} s")
        print(f"same: {same} of {total} files")
        return 0 if same == total else 1
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
