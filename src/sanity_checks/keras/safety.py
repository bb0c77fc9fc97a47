"""Safe mode: a file's Python code never runs unless the user says so (Lambda layers that carry
bytecode are refused unless trusted; custom layer classes come only from a module the user names)."""
import importlib
import importlib.util
import os

from ..errors import ModelError


TRUST_OPTION = "--trust-model-code"
CUSTOM_OPTION = "--custom-objects-module"


def lambda_layers_with_code(config):
    """Names of the Lambda layers in a (nested) model config whose function is Python bytecode."""
    found = []

    def visit(node):
        if isinstance(node, dict):
            if node.get("class_name") == "Lambda" and isinstance(node.get("config"), dict):
                cfg = node["config"]
                function = cfg.get("function")
                if cfg.get("function_type") == "lambda" or (
                        isinstance(function, dict) and function.get("class_name") == "__lambda__"):
                    found.append(cfg.get("name", "?"))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(config)
    return list(dict.fromkeys(found))


def custom_objects_from(module_spec):
    """{name: object} of a module the user named (a module name or a ``.py`` file): its ``CUSTOM_OBJECTS``
    dict, else every class and function defined in it."""
    if not module_spec:
        return {}
    try:
        if module_spec.endswith(".py"):
            if not os.path.isfile(module_spec):
                raise ModelError(f"custom objects module {module_spec} does not exist")
            name = os.path.splitext(os.path.basename(module_spec))[0]
            spec = importlib.util.spec_from_file_location(name, module_spec)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_spec)
    except ImportError as err:
        raise ModelError(f"cannot import custom objects module {module_spec}: {err}") from None
    if isinstance(getattr(module, "CUSTOM_OBJECTS", None), dict):
        return dict(module.CUSTOM_OBJECTS)
    return {name: obj for name, obj in vars(module).items()
            if not name.startswith("_") and callable(obj) and getattr(obj, "__module__", None) == module.__name__}


def safe_mode_scope(flavour, trusted):
    """Both Kerases refuse to deserialize lambdas (also while rebuilding) unless safe mode is off."""
    import contextlib
    if not trusted:
        return contextlib.nullcontext()
    if flavour == "keras":
        from keras.src.saving.serialization_lib import SafeModeScope
    else:
        from tf_keras.src.saving.serialization_lib import SafeModeScope
    return SafeModeScope(False)
