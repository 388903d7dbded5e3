"""Unity .meta files for the package: what Unity imports, the checks, and `--write` for new files.

Unity imports every file and folder of a package except hidden ones (a name starting with "." or
ending with "~", and what is inside them), and ignores any asset without a .meta file; in a
package installed from git the folder is read-only, so Unity cannot add the missing ones. The
contents of `Samples~` are copied into the project when a sample is imported, so they carry .meta
files too (stable GUIDs across imports). Usage: `python unity/tools/unity_meta.py [--write]`.
"""

from __future__ import annotations

import re
import sys
import uuid
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "com.gamebackend.client"
GUID = re.compile(r"^guid: ([0-9a-f]{32})$", re.MULTILINE)

_TRAILER = "  userData: \n  assetBundleName: \n  assetBundleVariant: \n"
IMPORTERS = {
    ".cs": "MonoImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n  executionOrder: 0\n  icon: {instanceID: 0}\n",
    ".asmdef": "AssemblyDefinitionImporter:\n  externalObjects: {}\n",
    ".md": "TextScriptImporter:\n  externalObjects: {}\n",
    ".json": "TextScriptImporter:\n  externalObjects: {}\n",
    "package.json": "PackageManifestImporter:\n  externalObjects: {}\n",
}

# Native plugins: imported for their one platform only (a UPM package has no Plugins-folder
# convention to rely on; without these settings Unity would offer the file to every platform).
_PLUGIN_HEAD = (
    "PluginImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  iconMap: {}\n  executionOrder: {}\n"
    "  defineConstraints: []\n  isPreloaded: 0\n  isOverridable: 0\n  isExplicitlyReferenced: 0\n"
    "  validateReferences: 1\n  platformData:\n"
    "  - first:\n      Any: \n    second:\n      enabled: 0\n      settings: {}\n"
    "  - first:\n      Editor: Editor\n    second:\n      enabled: 0\n      settings:\n        DefaultValueInitialized: true\n"
)
PLUGINS = {
    # suffix: (the platform entry, its settings)
    ".mm": (
        "iPhone: iOS",
        "        AddToEmbeddedBinaries: false\n        CPU: AnyCPU\n        CompileFlags: -fobjc-arc\n"
        "        FrameworkDependencies: Security;\n",
    ),
    ".java": ("Android: Android", ""),
    ".jslib": ("WebGL: WebGL", ""),
}
for _suffix, (_platform, _settings) in PLUGINS.items():
    IMPORTERS[_suffix] = (
        _PLUGIN_HEAD
        + f"  - first:\n      {_platform}\n    second:\n      enabled: 1\n      settings:"
        + (f"\n{_settings}" if _settings else " {}\n")
    )
PLATFORM_ENTRY = re.compile(r"- first:\n\s+([^\n]*?)\s*\n\s+second:\n\s+enabled: ([01])")


def enabled_platforms(meta_text: str) -> list[str]:
    """The platform entries a PluginImporter .meta enables ("iPhone: iOS", ...)."""
    return [platform for platform, on in PLATFORM_ENTRY.findall(meta_text) if on == "1"]


def hidden(name: str) -> bool:
    return name.startswith(".") or name.endswith("~")


def assets(root: Path = PACKAGE) -> list[Path]:
    """Every path that needs a .meta file: the package's imported files and folders, and the samples' contents."""
    found: list[Path] = []

    def walk(folder: Path, inside_sample: bool) -> None:
        for entry in sorted(folder.iterdir()):
            if entry.name.endswith(".meta"):
                continue
            if hidden(entry.name):
                if entry.is_dir() and entry.name == "Samples~" and folder == root:
                    walk(entry, True)
                continue
            found.append(entry)
            if entry.is_dir():
                walk(entry, inside_sample)

    walk(root, False)
    return found


def meta_text(asset: Path) -> str:
    guid = uuid.uuid4().hex
    if asset.is_dir():
        return f"fileFormatVersion: 2\nguid: {guid}\nfolderAsset: yes\nDefaultImporter:\n  externalObjects: {{}}\n{_TRAILER}"
    importer = IMPORTERS.get(asset.name) or IMPORTERS.get(asset.suffix) or "DefaultImporter:\n  externalObjects: {}\n"
    return f"fileFormatVersion: 2\nguid: {guid}\n{importer}{_TRAILER}"


def problems(root: Path = PACKAGE) -> list[str]:
    """Missing, malformed, duplicated and orphaned .meta files, one line each."""
    found: list[str] = []
    wanted = {Path(str(a) + ".meta") for a in assets(root)}
    guids: dict[str, Path] = {}
    for meta in sorted(wanted):
        rel = meta.relative_to(root)
        if not meta.is_file():
            found.append(f"missing: {rel}")
            continue
        text = meta.read_text(encoding="utf-8")
        match = GUID.search(text)
        if not text.startswith("fileFormatVersion: 2\n") or match is None:
            found.append(f"malformed: {rel}")
            continue
        if Path(str(meta)[: -len(".meta")]).is_dir() != ("folderAsset: yes" in text):
            found.append(f"folder flag wrong: {rel}")
        plugin = PLUGINS.get(Path(meta.name[: -len(".meta")]).suffix)
        if plugin is not None and ("PluginImporter:" not in text or enabled_platforms(text) != [plugin[0]]):
            found.append(f"plugin not limited to {plugin[0].split(': ')[1]}: {rel}")
        guid = match.group(1)
        if guid in guids:
            found.append(f"duplicate guid {guid}: {rel} and {guids[guid].relative_to(root)}")
        guids[guid] = meta
    for meta in sorted(root.rglob("*.meta")):
        if meta not in wanted:
            found.append(f"orphaned or not imported: {meta.relative_to(root)}")
    return found


def main() -> int:
    if "--write" in sys.argv:
        for asset in assets():
            meta = Path(str(asset) + ".meta")
            if not meta.exists():
                meta.write_text(meta_text(asset), encoding="utf-8")
                print(f"wrote {meta.relative_to(PACKAGE)}")
    issues = problems()
    for issue in issues:
        print(issue)
    return 1 if issues else 0


if __name__ == "__main__":
    sys.exit(main())
