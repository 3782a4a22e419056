"""Loading files and folders: each type to text, catalogue records through a field mapping, and
files that cannot be indexed skipped with a reason (never stopping the others)."""

import pytest

from tunelab.rag.errors import MappingError
from tunelab.rag.htmltext import html_to_text
from tunelab.rag.loaders import load_path
from tunelab.rag.mapping import FieldMapping


def make_pdf(text: str) -> bytes:
    """A one-page PDF 1.4 showing `text` in Helvetica, with a correct xref table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "docs"
    (d / "sub").mkdir(parents=True)
    (d / ".git").mkdir()
    (d / ".git" / "HEAD").write_text("ref: refs/heads/main")
    (d / "guide.md").write_text("# Guide\n\nHow to return an item.")
    (d / "notes.txt").write_text("Plain notes about shipping.")
    (d / "page.html").write_text("<html><head><title>Care</title><script>x()</script></head>"
                                 "<body><h1>Washing</h1><p>Cold water only.</p></body></html>")
    (d / "manual.pdf").write_bytes(make_pdf("Descale the kettle monthly"))
    (d / "sub" / "tool.py").write_text("def f():\n    return 1\n")
    (d / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    (d / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (d / "empty.md").write_text("")
    (d / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (d / "gone.txt").symlink_to(d / "missing-target.txt")
    return d


def test_folder_loads_every_type_and_skips_what_it_cannot_read(folder):
    items = list(load_path(folder))
    docs = {i.source.removeprefix(str(folder) + "/"): i for i in items if hasattr(i, "doc_type")}
    failed = {i.source.removeprefix(str(folder) + "/"): i.reason for i in items if not hasattr(i, "doc_type")}
    assert set(docs) == {"guide.md", "notes.txt", "page.html", "manual.pdf", "sub/tool.py"}
    assert docs["guide.md"].doc_type == "markdown" and docs["guide.md"].title == "Guide"
    assert docs["page.html"].text == "# Washing\n\nCold water only." and docs["page.html"].title == "Care"
    assert docs["manual.pdf"].text == "Descale the kettle monthly" and docs["manual.pdf"].meta == {"pages": 1}
    assert docs["sub/tool.py"].doc_type == "code" and docs["sub/tool.py"].meta == {"language": "python"}
    assert failed["image.png"] == "binary file (NUL bytes in the first 8 KiB)"
    assert failed["latin1.txt"].startswith("binary or non-UTF-8 file (byte 3 is not UTF-8)")
    assert failed["empty.md"] == "no text"
    assert failed["broken.pdf"].startswith("not a readable PDF")
    assert failed["gone.txt"].startswith("unreadable: No such file or directory")
    assert all(i.source.startswith(str(folder.resolve())) for i in items)  # absolute paths


def test_catalogue_records_through_a_mapping(tmp_path):
    path = tmp_path / "products.jsonl"
    path.write_text('{"sku": "A1", "name": "Trail shoe", "desc": "Grippy.", "cat": "Shoes", "maker": "Acme", "cost": "$1,299.50", "tags": ["x", "y"]}\n'
                    '{"name": "no id here"}\n'
                    '{"sku": "A1", "name": "duplicate"}\n'
                    'not json\n'
                    '{"sku": "B2", "name": "Kettle", "cost": "cheap"}\n'
                    '{"sku": "C3", "name": "Pan", "cat": "Kitchen", "cost": 20}\n')
    mapping = FieldMapping.parse("id=sku,title=name,text=desc,category=cat,brand=maker,price=cost,meta=tags")
    items = list(load_path(path, mapping))
    docs = [i for i in items if hasattr(i, "doc_type")]
    assert [d.source for d in docs] == [f"{path}#A1", f"{path}#C3"]
    assert docs[0].doc_type == "product" and docs[0].title == "Trail shoe" and docs[0].text == "Grippy."
    assert docs[0].meta == {"record_id": "A1", "category": "Shoes", "brand": "Acme", "price": 1299.5, "tags": "x, y"}
    assert docs[1].meta == {"record_id": "C3", "category": "Kitchen", "price": 20.0}
    reasons = [i.reason for i in items if not hasattr(i, "doc_type")]
    assert reasons == ["line 2: no value in id field 'sku'",
                       "line 3: duplicate id 'A1' (first at line 1)",
                       "line 4: invalid JSON: Expecting value at column 1",
                       "line 5: price field 'cost' is 'cheap', not a number"]


def test_csv_catalogue_with_guessed_mapping(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id,title,description,brand,price\n1,Lamp,Desk lamp.,Lumen,39\n2,Tent,Dome tent.,Summit,129\n")
    docs = list(load_path(path))
    assert [(d.source.split("#")[1], d.title, d.text, d.meta["brand"], d.meta["price"]) for d in docs] == [
        ("1", "Lamp", "Desk lamp.", "Lumen", 39.0), ("2", "Tent", "Dome tent.", "Summit", 129.0)]


def test_a_mapping_naming_missing_fields_fails_the_file_with_the_fields_it_has(tmp_path):
    path = tmp_path / "p.json"
    path.write_text('[{"code": "1", "label": "Lamp"}]')
    [failure] = load_path(path, FieldMapping.parse("id=code,title=name"))
    assert failure.reason == "record 0: the mapping names field(s) name that the first record lacks. Fields: code, label."


def test_mapping_syntax_errors_are_explained():
    with pytest.raises(MappingError, match="Mapping key 'colour' is unknown; keys are: id, title, category"):
        FieldMapping.parse("id=sku,colour=c")
    with pytest.raises(MappingError, match="'title' takes one field"):
        FieldMapping.parse("title=a+b")
    with pytest.raises(MappingError, match="is not key=field"):
        FieldMapping.parse("id")


def test_html_to_text_keeps_structure_and_links():
    page = html_to_text("<title>T</title><style>p{}</style><nav><a href='/a'>A</a></nav><h2>Sizes</h2>"
                        "<ul><li>S</li><li>M</li></ul><pre>x = 1\n    y = 2</pre><p>Fits &amp; flatters.</p>")
    assert page.title == "T" and page.links == ["/a"]
    assert page.text == "A\n\n## Sizes\n\n- S\n- M\n\nx = 1\n    y = 2\n\nFits & flatters."
