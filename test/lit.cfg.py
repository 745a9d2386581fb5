# lit configuration for accel: IR tests run the tools from the build tree;
# Python tests (*.py under e2e/ and importers/) run with the project venv.
import os
import shutil
import lit.formats

config.name = "accel"
config.test_format = lit.formats.ShTest(not lit_config.useValgrind)
config.suffixes = [".mlir", ".test", ".py"]
config.excludes = ["lit.cfg.py", "lit.site.cfg.py", "lit.local.cfg", "helpers", "__pycache__", "unit"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.accel_obj_root, "test")

config.environment["FILECHECK_OPTS"] = "-enable-var-scope --allow-unused-prefixes=false"
config.environment["PYTHONPATH"] = os.path.join(config.accel_src_root, "test", "helpers")
config.environment["ACCEL_TOOLS_DIR"] = config.accel_tools_dir
config.environment["ACCEL_SRC_ROOT"] = config.accel_src_root
config.environment["OMP_NUM_THREADS"] = "2"
for var in ("HOME", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    if var in os.environ:
        config.environment[var] = os.environ[var]

tool_dirs = [config.accel_tools_dir, config.llvm_tools_dir]
config.environment["PATH"] = os.pathsep.join(tool_dirs + [config.environment.get("PATH", "")])
config.substitutions.append(("%python", config.python))
config.substitutions.append(("%accel_src", config.accel_src_root))
config.substitutions.append(("%accel_tools", config.accel_tools_dir))

# Tests that need torch/onnx/onnxruntime declare REQUIRES: python-ml.
if os.path.exists(config.python):
    config.available_features.add("python-ml")
# Two "machines" on one host need network namespaces: root and iproute2.
if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("ip"):
    config.available_features.add("netns")
