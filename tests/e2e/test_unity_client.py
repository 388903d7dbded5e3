"""The Unity package's C#, compiled with Mono and run: offline tests, then against `chalice local`.

Mono and the assemblies come from Debian's archive through unity/tools/install-mono.sh; if it
cannot install them these tests fail with its message (they never skip). The Unity-only code
(UnityWebRequest transport, MonoBehaviour wrappers, the sample) compiles against stubs of the
UnityEngine types it uses, so a type error there fails here too. The player code is also compiled
with UNITY_WEBGL defined and its IL checked for threads, timers, Task.Delay and HttpClient, and
with UNITY_STANDALONE_WIN defined (the DPAPI credential protector). The package layout test
checks the .meta files and the manifest without Mono.
"""

from __future__ import annotations

import glob
import importlib.util
import json
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
CHECKER = ROOT / "unity" / "tools" / "PlayerBuildCheck.cs"
PLAYERS = {"webgl": "UNITY_WEBGL", "android": "UNITY_ANDROID", "ios": "UNITY_IOS"}
PLUGINS = PACKAGE / "Runtime" / "Unity" / "Plugins"
ANDROID_STUBS = PACKAGE / "Tests" / "AndroidStubs~"
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

    def mcs(self, target: str, output: str, files: list[str], refs: list[str], defines: tuple[str, ...] = ()) -> None:
        cmd = [
            "mcs",
            LANG,
            "-warnaserror+",
            "-nowarn:1591",
            *[f"-define:{d}" for d in defines],
            f"-target:{target}",
            f"-out:{self.out / output}",
            *[f"-r:{r}" for r in refs],
            *files,
        ]
        proc = subprocess.run(cmd, cwd=self.out, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            pytest.fail(f"mcs failed for {output}:\n{proc.stdout}\n{proc.stderr}")

    def run(
        self, *args: str, env: dict[str, str] | None = None, exe: str = "GameBackend.Tests.exe"
    ) -> subprocess.CompletedProcess[str]:
        # The C# tests' scratch files (Path.GetTempPath(): device stores, journals) go under
        # the build's folder, which pytest cleans, not the machine's /tmp.
        self.tmp.mkdir(exist_ok=True)
        return subprocess.run(
            ["mono", "--debug", str(self.out / exe), *args],
            cwd=self.out,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "TMPDIR": str(self.tmp), **(env or {})},
        )

    @property
    def tmp(self) -> Path:
        return self.out / "tmp"


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
    b.mcs("exe", "PlayerBuildCheck.exe", [str(CHECKER)], [])
    # Player builds' code (WebGL, Android): Unity's defines, not UNITY_EDITOR, and no System.Net.Http.
    for platform, define in PLAYERS.items():
        folder = out / platform
        folder.mkdir()
        for dll in ("Newtonsoft.Json.dll", "UnityEngine.dll"):
            shutil.copy(out / dll, folder)
        defines = ("UNITY_5_3_OR_NEWER", "UNITY_2021_3_OR_NEWER", define)
        b.mcs(
            "library",
            f"{platform}/GameBackend.Client.dll",
            sources("Runtime/Core", "Runtime/Services"),
            ["Newtonsoft.Json.dll"],
            defines,
        )
        b.mcs(
            "library",
            f"{platform}/GameBackend.Client.Unity.dll",
            sources("Runtime/Unity"),
            [f"{platform}/GameBackend.Client.dll", "UnityEngine.dll", "Newtonsoft.Json.dll"],
            defines,
        )
    # A Windows player's Unity layer: the DPAPI protector is compiled only there.
    b.mcs(
        "library",
        "GameBackend.Client.Unity.Windows.dll",
        sources("Runtime/Unity"),
        ["GameBackend.Client.dll", "UnityEngine.dll", "Newtonsoft.Json.dll"],
        ("UNITY_STANDALONE_WIN",),
    )
    return b


def outcomes(output: str) -> dict[str, str]:
    return {m.group(2): m.group(1) for m in re.finditer(r"^(PASS|FAIL|SKIP) ([\w.]+)", output, re.MULTILINE)}


def test_unity_only_code_and_sample_compile_against_unityengine_stubs(build: Build) -> None:
    for name in ("GameBackend.Client.Unity.dll", "Samples.dll", "GameBackend.Client.Unity.Windows.dll"):
        assert (build.out / name).stat().st_size > 0
    # Each player build holds its own native credential store and no other platform's.
    stores = {"ios": b"KeychainStore", "android": b"AndroidKeystoreStore"}
    for platform in PLAYERS:
        unity_layer = (build.out / platform / "GameBackend.Client.Unity.dll").read_bytes()
        for owner, store in stores.items():
            assert (store in unity_layer) == (owner == platform), (
                f"{store.decode()} in the {platform} player: {store in unity_layer}"
            )
    editor = (build.out / "GameBackend.Client.Unity.dll").read_bytes()
    assert not any(store in editor for store in stores.values()), "the editor keeps the PlayerPrefs store"


def test_native_store_bindings_name_what_the_plugins_export() -> None:
    """The C# side's entry points exist in the plugins with the same arity (the plugins cannot be run here)."""
    stores = (PACKAGE / "Runtime" / "Unity" / "CredentialStores.cs").read_text()
    objc = (PLUGINS / "iOS" / "GameBackendKeychain.mm").read_text()
    assert objc.count('extern "C" {') == 1, 'the entry points are in one extern "C" block (no C++ name mangling)'
    exported = {
        m.group(1): len(m.group(2).split(","))
        for m in re.finditer(
            r"^\w[\w *]*?\b(GameBackendKeychain_\w+)\(([^)]*)\)\s*$", objc.split('extern "C" {')[1], re.MULTILINE
        )
    }
    imported = {
        m.group(1): len(m.group(2).split(","))
        for m in re.finditer(r'DllImport\("__Internal"\)\][^;]*?\b(GameBackendKeychain_\w+)\(([^)]*)\)', stores)
    }
    assert imported and imported == exported, (imported, exported)
    java = (PLUGINS / "Android" / "GameBackendKeystore.java").read_text()
    methods = {
        m.group(1): len([a for a in m.group(2).split(",") if a.strip()])
        for m in re.finditer(r"public static (?:synchronized )?\w+ (\w+)\(([^)]*)\)", java)
    }
    calls = {
        m.group(1): m.group(2).count(",") for m in re.finditer(r'CallStatic(?:<\w+>)?\("(\w+)"((?:, \w+)*)\)', stores)
    }
    assert calls and all(methods.get(name) == arity for name, arity in calls.items()), (calls, methods)
    assert re.search(
        r'new AndroidJavaClass\("com\.gamebackend\.client\.GameBackendKeystore"\)|Plugin = "com\.gamebackend\.client\.GameBackendKeystore"',
        stores,
    )
    assert "package com.gamebackend.client;" in java and "kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly" in objc


def test_android_keystore_plugin_compiles_and_seals(tmp_path: Path) -> None:
    """javac type-checks the plugin against Android SDK stubs; its AES-GCM seal runs on the JDK with a software key."""
    # The JDK is installed when missing (never skipped): unity/tools/install-jdk.sh.
    install = subprocess.run(
        ["bash", str(ROOT / "unity" / "tools" / "install-jdk.sh")], capture_output=True, text=True, timeout=1200
    )
    assert install.returncode == 0, install.stdout + install.stderr
    sources = [str(p) for p in ANDROID_STUBS.rglob("*.java")] + [str(PLUGINS / "Android" / "GameBackendKeystore.java")]
    compiled = subprocess.run(
        ["javac", "--release", "8", "-Xlint:all,-options", "-Werror", "-d", str(tmp_path), *sources],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    ran = subprocess.run(
        ["java", "-cp", str(tmp_path), "com.gamebackend.client.KeystoreSealCheck"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0 and "all seal checks passed" in ran.stdout, ran.stdout + ran.stderr
    assert ran.stdout.count("PASS ") == 7, ran.stdout


OFFLINE_FIXTURES = ("OfflineTests.", "AccountSafetyTests.", "PlatformTests.")


def test_client_logic_offline_on_a_single_threaded_main_thread_context(build: Build) -> None:
    proc = build.run(*OFFLINE_FIXTURES, env={"GAMEBACKEND_URL": ""})
    assert list(build.tmp.glob("gamebackend-tests-*")), "the tests' scratch folders are not under the build"
    print(proc.stdout)  # with pytest -s: the FIGURE lines (cost of Track with 1,000 events queued)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = outcomes(proc.stdout)
    assert len(results) >= 30 and set(results.values()) == {"PASS"}, proc.stdout
    for fixture in OFFLINE_FIXTURES:
        assert any(name.startswith(fixture) for name in results), f"no {fixture} test ran:\n{proc.stdout}"
    assert results.get("PlatformTests.TheTestContextCatchesCodeThatLeavesTheMainThread") == "PASS"


@pytest.mark.parametrize("platform", sorted(PLAYERS))
def test_player_code_reaches_no_thread_timer_task_delay_or_httpclient(build: Build, platform: str) -> None:
    folder = build.out / platform
    proc = build.run(
        str(folder / "GameBackend.Client.dll"), str(folder / "GameBackend.Client.Unity.dll"), exe="PlayerBuildCheck.exe"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checked = re.search(r"checked (\d+) methods: 0 forbidden", proc.stdout)
    assert checked and int(checked.group(1)) > 200, proc.stdout
    # The same check on the editor/server build finds what players leave out: the check can fail.
    full = build.run(str(build.out / "GameBackend.Client.dll"), exe="PlayerBuildCheck.exe")
    assert full.returncode == 1, full.stdout
    assert "FORBIDDEN System.Threading.Tasks.Task.Delay in GameBackend.SystemTime.Delay" in full.stdout, full.stdout
    assert "FORBIDDEN System.Net.Http.HttpClient" in full.stdout, full.stdout


def _meta_tool() -> Any:
    spec = importlib.util.spec_from_file_location("unity_meta", ROOT / "unity" / "tools" / "unity_meta.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_package_layout_meta_files_and_manifest() -> None:
    meta = _meta_tool()
    assert meta.problems(PACKAGE) == []
    imported = meta.assets(PACKAGE)
    assert len(imported) > 30
    for required in ("package.json", "README.md", "CHANGELOG.md", "LICENSE.md", "Runtime", "Tests/Runtime"):
        assert PACKAGE / required in imported, required
    assert PACKAGE / "Samples~" / "ArenaSample" / "ArenaSample.cs" in imported  # copied into projects with its .meta
    assert PACKAGE / "Samples~" / "ArenaSample" / "Arena.unity" in imported
    assert not any(
        "UnityStubs~" in str(p) or "AndroidStubs~" in str(p) or "Mono~" in str(p) or "Documentation~" in str(p)
        for p in imported
    )
    # Native plugins are imported for their one platform only.
    for plugin, platform in (
        (PLUGINS / "iOS" / "GameBackendKeychain.mm", "iPhone: iOS"),
        (PLUGINS / "Android" / "GameBackendKeystore.java", "Android: Android"),
        (PLUGINS / "WebGL" / "GameBackendWebSocket.jslib", "WebGL: WebGL"),
    ):
        assert plugin in imported
        assert meta.enabled_platforms(Path(str(plugin) + ".meta").read_text()) == [platform], plugin.name
    assert sorted(p.name for p in (PACKAGE / "Documentation~").glob("*.md")) == ["index.md", "migration.md"]

    # Unity's package manifest rules.
    manifest = json.loads((PACKAGE / "package.json").read_text())
    assert re.fullmatch(r"[a-z0-9][a-z0-9._-]*", manifest["name"]) and manifest["name"].count(".") >= 2
    assert manifest["name"] == PACKAGE.name
    assert re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", manifest["version"])
    assert re.fullmatch(r"\d{4}\.\d+", manifest["unity"])
    assert manifest["displayName"] and manifest["description"]
    assert isinstance(manifest["author"], dict) and manifest["author"]["name"]
    assert manifest["dependencies"].get("com.unity.nuget.newtonsoft-json"), "Newtonsoft comes from Unity's package"
    for dependency, version in manifest["dependencies"].items():
        assert re.fullmatch(r"[a-z0-9][a-z0-9._-]*", dependency) and re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert manifest["samples"]
    for sample in manifest["samples"]:
        assert sample["displayName"] and sample["description"]
        assert sample["path"].startswith("Samples~/") and (PACKAGE / sample["path"]).is_dir()
    # The install line a studio copies: the git URL with the package's folder as its path.
    readme = (PACKAGE / "README.md").read_text()
    assert f".git?path=unity/{manifest['name']}" in readme and f'"{manifest["name"]}": "https://' in readme
    changelog = (PACKAGE / "CHANGELOG.md").read_text()
    assert f"## [{manifest['version']}]" in changelog, "the changelog names the package's version"

    # Each asmdef is valid JSON whose references name asmdefs of the package (or Unity's test assemblies).
    names = {json.loads(p.read_text())["name"] for p in PACKAGE.rglob("*.asmdef")} | {
        "UnityEngine.TestRunner",
        "UnityEditor.TestRunner",
    }
    for asmdef in PACKAGE.rglob("*.asmdef"):
        for reference in json.loads(asmdef.read_text()).get("references", []):
            assert reference in names, f"{asmdef.name} references unknown assembly {reference}"


def _unity_yaml(path: Path) -> dict[int, tuple[int, dict[str, Any]]]:
    """A scene's objects by fileID: (Unity class id, fields). Fails on YAML Unity could not read either."""
    import yaml

    text = path.read_text()
    assert text.startswith("%YAML 1.1\n%TAG !u! tag:unity3d.com,2011:\n--- !u!"), "Unity's header"
    headers = [(int(c), int(f)) for c, f in re.findall(r"^--- !u!(\d+) &(\d+)$", text, re.MULTILINE)]
    # Unity declares its tag once for every document; plain YAML wants it per document: drop the tags.
    body = re.sub(r"^--- !u!\d+ &\d+$", "---", text.split("\n", 2)[2], flags=re.MULTILINE)
    documents = list(yaml.safe_load_all(body))
    assert len(documents) == len(headers) and headers, "every document is a `--- !u!<class> &<fileID>` object"
    assert len({f for _, f in headers}) == len(headers), "fileIDs are unique"
    return {f: (c, next(iter(doc.values()))) for (c, f), doc in zip(headers, documents)}


def test_sample_scene_wires_the_manager_and_the_screen_by_guid() -> None:
    """The hand-written scene: what Unity resolves on opening it (script GUIDs, fileID references, field names)."""
    sample = PACKAGE / "Samples~" / "ArenaSample"
    objects = _unity_yaml(sample / "Arena.unity")
    scripts = {}
    for meta in PACKAGE.rglob("*.cs.meta"):
        guid = re.search(r"^guid: (\w+)$", meta.read_text(), re.MULTILINE)
        assert guid
        scripts[guid.group(1)] = Path(str(meta)[: -len(".meta")])

    def references(value: Any) -> list[dict[str, Any]]:
        if isinstance(value, dict):
            found = [value] if "fileID" in value else []
            return found + [r for v in value.values() for r in references(v)]
        if isinstance(value, list):
            return [r for v in value for r in references(v)]
        return []

    behaviours = []
    for file_id, (class_id, fields) in objects.items():
        for ref in references(fields):
            if ref["fileID"] != 0 and "guid" not in ref:
                assert ref["fileID"] in objects, f"object {file_id} points at a missing object {ref['fileID']}"
        if class_id == 1:  # GameObject: its components point back at it
            for entry in fields["m_Component"]:
                component = objects[entry["component"]["fileID"]][1]
                assert component["m_GameObject"]["fileID"] == file_id
        if class_id == 114:  # MonoBehaviour
            script = scripts.get(fields["m_Script"]["guid"])
            assert script is not None, (
                f"the scene's script guid {fields['m_Script']['guid']} is no .cs file of the package"
            )
            assert fields["m_Script"]["fileID"] == 11500000 and fields["m_Script"]["type"] == 3
            source = script.read_text()
            assert re.search(rf"public class {script.stem} : MonoBehaviour", source), (
                "Unity finds a script by its file's name"
            )
            for name in (k for k in fields if not k.startswith("m_")):
                assert re.search(rf"(\[SerializeField\] private|public) [\w<>.]+ {name}\b", source), (
                    f"{script.stem} has no field {name}"
                )
            behaviours.append(script.stem)
    assert sorted(behaviours) == ["ArenaSampleScreen", "GameBackendManager"]
    assert sum(1 for c, _ in objects.values() if c == 20) == 1, "one camera"


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
    "EndToEndTests.ADeletedAccountIsReportedAndNoGuestIsCreatedBehindThePlayersBack": "/players/me",
    "EndToEndTests.StatWritesRetriedUnderOneIdempotencyKeyAreAccepted": "/players/me/stats",
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


def test_the_meta_check_finds_missing_orphaned_and_duplicated_meta_files(tmp_path: Path) -> None:
    meta = _meta_tool()
    copy = tmp_path / PACKAGE.name
    shutil.copytree(PACKAGE, copy)
    assert meta.problems(copy) == []
    (copy / "Runtime" / "Core" / "Json.cs.meta").unlink()
    (copy / "Runtime" / "Core" / "Gone.cs.meta").write_text("fileFormatVersion: 2\nguid: " + "0" * 32 + "\n")
    twin = (copy / "Runtime" / "Core" / "Time.cs.meta").read_text()
    (copy / "Runtime" / "Core" / "Errors.cs.meta").write_text(twin)
    (copy / "Runtime" / "Extra").mkdir()
    keychain = copy / "Runtime" / "Unity" / "Plugins" / "iOS" / "GameBackendKeychain.mm.meta"
    keychain.write_text(
        keychain.read_text().replace(
            "      Any: \n    second:\n      enabled: 0", "      Any: \n    second:\n      enabled: 1"
        )
    )
    found = meta.problems(copy)
    assert "plugin not limited to iOS: Runtime/Unity/Plugins/iOS/GameBackendKeychain.mm.meta" in found, found
    assert "missing: Runtime/Core/Json.cs.meta" in found
    assert "missing: Runtime/Extra.meta" in found
    assert "orphaned or not imported: Runtime/Core/Gone.cs.meta" in found
    assert any(line.startswith("duplicate guid") for line in found), found
