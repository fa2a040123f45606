"""scripts/check-layers: passes on the repository, and catches an include that crosses a layer
upwards, an undeclared folder and a dependency on a module declared above."""
import os
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SCRIPT = os.path.join(ROOT, 'scripts', 'check-layers')


def run(root):
    return subprocess.run([sys.executable, SCRIPT, root], capture_output=True, text=True)


def fake_tree(tmp_path, cmake, files):
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'CMakeLists.txt').write_text(cmake)
    for name, text in files.items():
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(tmp_path)


CMAKE = """causeway_module(NAME core)
causeway_module(NAME io ASIO DEPS core LIBS x)
causeway_module(NAME upstream ASIO DEPS core io
  LIBS y)
"""


def test_repository_passes():
    result = run(ROOT)
    assert result.returncode == 0, result.stdout


def test_allowed_includes_pass(tmp_path):
    root = fake_tree(tmp_path, CMAKE, {'io/a.h': '#include "core/x.h"\n#include <vector>\n',
                                       'upstream/b.cpp': '#include "io/a.h"\n#include "upstream/b.h"\n'})
    assert run(root).returncode == 0


def test_upward_include_fails(tmp_path):
    root = fake_tree(tmp_path, CMAKE, {'io/a.h': '#pragma once\n\n#include "upstream/pool.h"\n'})
    result = run(root)
    assert result.returncode == 1
    assert 'src/io/a.h:3: io/ includes "upstream/pool.h"' in result.stdout


def test_undeclared_folder_fails(tmp_path):
    root = fake_tree(tmp_path, CMAKE, {'server/a.h': '#include "io/a.h"\n'})
    result = run(root)
    assert result.returncode == 1
    assert 'src/server/: not declared' in result.stdout


def test_dependency_declared_above_fails(tmp_path):
    root = fake_tree(tmp_path, "causeway_module(NAME io DEPS upstream)\ncauseway_module(NAME upstream)\n", {})
    result = run(root)
    assert result.returncode == 1
    assert 'module io depends on upstream, which is declared above it' in result.stdout
