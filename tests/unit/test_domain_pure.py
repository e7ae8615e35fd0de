"""The domain's words and rules load without the database or the UI (issue 16)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import domain.access
import domain.errors
from services import access, errors

ROOT = Path(__file__).resolve().parents[2]


def test_domain_imports_no_sqlalchemy_or_streamlit() -> None:
    code = (
        "import sys\n"
        "import domain.access, domain.checks, domain.errors, domain.vocabulary\n"
        "loaded = sorted(m for m in ('sqlalchemy', 'streamlit', 'storage', 'services') if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_services_reexport_the_domain_names() -> None:
    assert access.Actor is domain.access.Actor and access.POLICY is domain.access.POLICY
    assert errors.ValidationProblem is domain.errors.ValidationProblem
    assert issubclass(errors.DatabaseError, domain.errors.FidelityError)
