"""What a report says around its table: the header on the model and images (readable values only), the
notes on what is explained (a single output, Guided BackProp equal to Gradient), and the caveat when too
few images stand behind its intervals. ``about`` is a plain dict (written into run.json) so that a report
can be re-written, or shown as a page, without the model."""
import os

import numpy as np

from ..contract import FINAL_ACTIVATION

#: Below this many images the report says its intervals cannot be trusted: a percentile bootstrap over n
#: images has at most C(2n - 1, n) distinct resamples (3 for 2 images: the interval is then the range of
#: the two scores, whatever their spread), and its coverage falls short of 95% for small n.
MIN_IMAGES = 10

GUIDED_NOTE = "= Gradient (no ReLU-family activation)"


def _id_ranges(ids):
    ids = sorted(int(i) for i in ids)
    ranges, start = [], None
    for k, i in enumerate(ids):
        if start is None:
            start = i
        if k + 1 == len(ids) or ids[k + 1] != i + 1:
            ranges.append(f"{start}" if start == i else f"{start}..{i}")
            start = None
    return ", ".join(ranges)


def shown_path(reference):
    """``reference`` as a report shows it: a path under the working folder relative to it (so a report
    written from a repository names no machine's folders), anything else as given."""
    text = str(reference)
    path, sep, rest = text.partition(":") if not os.path.exists(text) else (text, "", "")
    if os.path.isabs(path) and os.path.exists(path):
        relative = os.path.relpath(path)
        if not relative.startswith(os.pardir):
            return relative + sep + rest
    return text


def describe_model(model, reference, image_ids, seed, quick=False):
    """{what the header and notes need} of a model behind the contract and the images of a run."""
    meta = dict(getattr(model, "metadata", None) or {})
    accuracy = meta.get("accuracy")
    if isinstance(accuracy, dict):
        accuracy = accuracy.get("test")
    architecture = model.architecture
    return {"model": shown_path(reference), "description": architecture.description or "",
            "data": meta.get("data"), "labels": meta.get("labels"), "test_accuracy": accuracy,
            "random_weights": bool(meta.get("random_weights")), "explained": meta.get("explained"),
            "final_activation": meta.get(FINAL_ACTIVATION),
            "outputs": int(architecture.num_classes), "images": len(image_ids), "image_ids": _id_ranges(image_ids),
            "seed": int(seed), "quick": bool(quick),
            "guided_equals_gradient": bool(getattr(model, "guided_equals_gradient", False))}


def header_line(about):
    """One sentence on the model and the images, with only the values that are known."""
    facts = [about.get("description")]
    if about.get("data"):
        facts.append(f"trained on {about['data']}" + (f" with {about['labels']} labels" if about.get("labels") else ""))
    accuracy = about.get("test_accuracy")
    if isinstance(accuracy, (int, float, np.floating)):
        facts.append(f"test accuracy {float(accuracy):.4g}")
    if about.get("random_weights"):
        facts.append("random weights")
    facts = "; ".join(f for f in facts if f)
    return (f"Model `{about['model']}`" + (f" ({facts})" if facts else "")
            + f"; {about['images']} image{'s' if about['images'] != 1 else ''} (ids {about['image_ids']}); "
            f"seed {about['seed']}" + ("; quick method settings (a smoke test)" if about.get("quick") else "") + ".")


def behind_sigmoid(final_activation, explained=None):
    """Whether the explained score is the input of a final sigmoid: the engine's ``final_activation``
    (contract.FINAL_ACTIVATION); a description saved before engines named it says so in ``explained``."""
    if final_activation is not None:
        return final_activation == "Sigmoid"
    return "sigmoid" in (explained or "")


def single_output_note(explained, final_activation=None):
    """One sentence on what a single-output model's explained score is: the checks treat its one output as
    the class they explain (a regression score as it is; a sigmoid's input, the logit, as for a softmax)."""
    if behind_sigmoid(final_activation, explained):
        return ("The methods explain its one output as a class, at the logit before the final sigmoid, as for a "
                "softmax (a probability saturates, and its gradient with it).")
    return (f"The methods explain its one output ({explained or 'the model output'}) as the logit of a single "
            f"class: a regression score is explained as it is, as a one-class classifier.")


def notes(about):
    """Lines the reader needs before the table: too few images, a single output, Guided BackProp = Gradient."""
    out = []
    n = about.get("images", 0)
    if n < MIN_IMAGES:
        out.append(f"**Too few images for these intervals.** This report stands on {n} image{'s' if n != 1 else ''}: "
                   f"a 95% bootstrap interval needs more (it resamples these {n} scores only, so it never reaches "
                   f"beyond their range, however widely other images would spread), so the intervals are too narrow "
                   f"and the verdicts below are indicative only. Run "
                   f"with `--images {MIN_IMAGES}` or more.")
    if about.get("outputs") == 1:
        out.append("**A single output.** " + single_output_note(about.get("explained"), about.get("final_activation"))
                   + " The random-logit test needs another class and does not run.")
    elif behind_sigmoid(about.get("final_activation"), about.get("explained")):
        out.append("**A sigmoid head.** The methods explain each class at its logit, before the final sigmoid, as "
                   "for a softmax (a probability saturates, and its gradient with it).")
    if about.get("warnings"):
        kinds = about["warnings"]
        out.append(f"**Warnings during the run** ({len(kinds)} kind{'s' if len(kinds) != 1 else ''}; where they "
                   "occurred is in run.json): " + "; ".join(
                       f"{kind}" + (f" (at {v['states']} of {v['of_states']} model states)" if v.get("states") else "")
                       for kind, v in kinds.items()) + ".")
    if about.get("guided_equals_gradient"):
        out.append("**Guided BackProp equals Gradient here:** the model has no ReLU-family activation for guided "
                   "backprop to gate (swish, GELU, hard-swish, ...), so its row is shown as "
                   f"\"{GUIDED_NOTE}\", not as a result of its own.")
    return out
