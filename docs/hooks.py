"""mkdocs hook: each guide page is its application's README (applications/<method>/README.md).

The README stays the one source; the guide pages in docs/guides/ only include it, and
the plots it links (results/*.png) are copied next to the page.
"""

from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
GUIDES = ("protonet", "mtnet", "hypertransformer", "tafenet", "amaz", "task2vec")


def on_files(files, config):
    for name in GUIDES:
        for png in sorted((ROOT / "applications" / name / "results").glob("*.png")):
            files.append(File(f"applications/{name}/results/{png.name}", src_dir=str(ROOT),
                              dest_dir=config["site_dir"], use_directory_urls=config["use_directory_urls"]))
    return files


def on_page_markdown(markdown, page, config, files):
    """Links to an application's README point at its guide; a guide page includes its README."""
    depth = page.file.src_uri.count("/")
    for guide in GUIDES:
        markdown = markdown.replace(f"](applications/{guide}/README.md)", f"]({'../' * depth}guides/{guide}.md)")
    name = Path(page.file.src_uri).stem
    if not page.file.src_uri.startswith("guides/") or name not in GUIDES:
        return markdown
    readme = (ROOT / "applications" / name / "README.md").read_text()
    readme = readme.replace("](results/", f"](../applications/{name}/results/")
    return markdown.replace("{{ readme }}", readme)
