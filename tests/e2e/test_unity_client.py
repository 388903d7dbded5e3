"""The Unity package's C#, compiled with Mono and run: offline tests, then against `chalice local`.

Mono and the assemblies come from Debian's archive through unity/tools/install-mono.sh; if it
cannot install them these tests fail with its message (they never skip). The Unity-only code
(UnityWebRequest transport, MonoBehaviour wrappers, the sample) compiles against stubs of the
UnityEngine types it uses, so a type error there fails here too.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "unity" / "com.gamebackend.client"
INSTALL = ROOT / "unity" / "tools" / "install-mono.sh"
LANG = "-langversion:7.2"  # what Mono's mcs accepts; Unity 2021.3 compiles C# 9, a superset


def sources(*folders: str) -> list[str]:
    return sorted(str(p) for folder in folders for p in (PACKAGE / folder).rglob("*.cs"))


def one(pattern: str) -> str:
    found = sorted(glob.glob(pattern))
    if not found:
        pytest.fail(f"{pattern} not found after install-mono.sh")
    return found[-1]


@dataclass
class Build:
    out: Path

    def mcs(self, target: str, output: str, files: list[str], refs: list[str]) -> None:
        cmd = [
            "mcs",
            LANG,
            "-warnaserror+",
            "-nowarn:1591",
            f"-target:{target}",
            f"-out:{self.out / output}",
            *[f"-r:{r}" for r in refs],
            *files,
        ]
        proc = subprocess.run(cmd, cwd=self.out, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            pytest.fail(f"mcs failed for {output}:\n{proc.stdout}\n{proc.stderr}")

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["mono", "--debug", str(self.out / "GameBackend.Tests.exe"), *args],
            cwd=self.out,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **(env or {})},
        )


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    proc = subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"could not install Mono and the assemblies the C# tests need:\n{proc.stdout}\n{proc.stderr}")
    out = tmp_path_factory.mktemp("unity-build")
    for dll in (
        one("/usr/lib/cli/Newtonsoft.Json-*/Newtonsoft.Json.dll"),
        one("/usr/lib/cli/nunit.framework-*/nunit.framework.dll"),
    ):
        shutil.copy(dll, out)
    b = Build(out)
    # The same assemblies as the package's asmdefs: core, Unity layer, tests (+ the Mono runner).
    b.mcs(
        "library",
        "GameBackend.Client.dll",
        sources("Runtime/Core", "Runtime/Services"),
        ["System.Net.Http", "Newtonsoft.Json.dll"],
    )
    b.mcs("library", "UnityEngine.dll", sources("Tests/UnityStubs~"), [])
    b.mcs(
        "library",
        "GameBackend.Client.Unity.dll",
        sources("Runtime/Unity"),
        ["GameBackend.Client.dll", "UnityEngine.dll", "Newtonsoft.Json.dll"],
    )
    b.mcs(
        "library",
        "Samples.dll",
        sources("Samples~"),
        ["GameBackend.Client.dll", "GameBackend.Client.Unity.dll", "UnityEngine.dll", "Newtonsoft.Json.dll"],
    )
    b.mcs(
        "exe",
        "GameBackend.Tests.exe",
        sources("Tests/Runtime", "Tests/Mono~"),
        ["GameBackend.Client.dll", "System.Net.Http", "Newtonsoft.Json.dll", "nunit.framework.dll"],
    )
    return b


def outcomes(output: str) -> dict[str, str]:
    return {m.group(2): m.group(1) for m in re.finditer(r"^(PASS|FAIL|SKIP) ([\w.]+)", output, re.MULTILINE)}


def test_unity_only_code_and_sample_compile_against_unityengine_stubs(build: Build) -> None:
    for name in ("GameBackend.Client.Unity.dll", "Samples.dll"):
        assert (build.out / name).stat().st_size > 0


def test_client_logic_offline(build: Build) -> None:
    proc = build.run("OfflineTests.", env={"GAMEBACKEND_URL": ""})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = outcomes(proc.stdout)
    assert len(results) >= 10 and set(results.values()) == {"PASS"}, proc.stdout


# Every end-to-end test and the routes it needs; a test may skip only while its routes are missing.
E2E_TESTS = {
    "EndToEndTests.TwoGuestsSignInUpdateTheirOwnStatsAndKeepTheirAccounts": "/players/me/stats",
    "EndToEndTests.ARejectedTokenIsRefreshedAndTheCallRetriedOnce": "/players/me",
    "EndToEndTests.AGuestUpgradesToAnEmailAccountAndSignsInWithIt": "/auth/upgrade",
    "EndToEndTests.ScoresAreSubmittedAndRanksRead": "/leaderboards/{id}/scores",
    "EndToEndTests.TwoGuestsAreMatchedWithEachOther": "/matchmaking/tickets",
    "EndToEndTests.ACloudSaveConflictIsSurfacedAndResolvedByMerging": "/saves/{slot}",
    "EndToEndTests.AnEventBatchWhoseFirstAttemptFailsInTheTransportIsCountedOnce": "/events",
    "EndToEndTests.AnUnlockedAchievementShowsInTheListAndTheInbox": "/notifications/{id}",
}


def test_client_against_the_local_backend(build: Build, backend: Any) -> None:
    proc = build.run("EndToEndTests.", env={"GAMEBACKEND_URL": backend.url})
    print(proc.stdout)  # which services ran against real routes, shown with pytest -s or on failure
    results = outcomes(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    served = {re.sub(r"\{[^}]*\}", "{}", p) for p in backend.request("GET", "/openapi.json").json()["paths"]}
    for test, path in E2E_TESTS.items():
        path = re.sub(r"\{[^}]*\}", "{}", path)
        expected = "PASS" if path in served else "SKIP"
        assert results.get(test) == expected, (
            f"{test}: {results.get(test)} (route {path} served: {path in served})\n{proc.stdout}"
        )
