import gzip

import pandas as pd
import pytest

from stance.data import corpus_stats, length_table, load_statements
from stance.errors import DataError


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".jsonl.gz", ".parquet"])
def test_loads_every_supported_format_identically(tmp_path, statements, suffix):
    path = tmp_path / f"s{suffix}"
    {".csv": lambda: statements.to_csv(path, index=False),
     ".jsonl": lambda: statements.to_json(path, orient="records", lines=True),
     ".jsonl.gz": lambda: statements.to_json(path, orient="records", lines=True, compression="gzip"),
     ".parquet": lambda: statements.to_parquet(path)}[suffix]()
    loaded = load_statements(path)
    assert loaded["id"].tolist() == statements["id"].tolist()
    assert loaded["label"].tolist() == statements["label"].tolist()
    assert "source_type" in loaded.columns


def _write(tmp_path, frame, name="s.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_missing_file_and_unsupported_format(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_statements(tmp_path / "none.csv")
    (tmp_path / "s.xlsx").write_text("x")
    with pytest.raises(DataError, match="unsupported format .xlsx"):
        load_statements(tmp_path / "s.xlsx")
    (tmp_path / "s.csv.gz").write_bytes(b"")
    with pytest.raises(DataError, match="only JSON lines .*compressed"):
        load_statements(tmp_path / "s.csv.gz")


def test_a_compressed_jsonl_is_written_and_read_back_with_file_line_numbers(tmp_path, statements):
    from stance.data import read_table
    from stance.io import write_frame

    path = tmp_path / "out.jsonl.gz"
    write_frame(statements, path)
    assert gzip.decompress(path.read_bytes()).decode().count("\n") == len(statements)
    back = read_table(path)
    assert back["id"].tolist() == statements["id"].tolist() and back["_line"].tolist()[:2] == [1, 2]
    path.write_bytes(gzip.compress(b'{"id": "a", "text": "x", "label": "comply"}\n{"id": "b", "text": \n'))
    with pytest.raises(DataError, match="out.jsonl.gz:2: not valid JSON"):
        read_table(path)


def test_latin1_file_is_named_with_the_fix(tmp_path, statements):
    path = tmp_path / "s.csv"
    statements.assign(text="Le ministre a refusé la demande.").iloc[:1].to_csv(path, index=False, encoding="latin-1")
    with pytest.raises(DataError, match="not UTF-8.*UTF-8"):
        load_statements(path)


def test_missing_columns_are_listed_with_what_was_found(tmp_path, statements):
    path = _write(tmp_path, statements.drop(columns=["text", "label"]))
    with pytest.raises(DataError, match="missing column\\(s\\) text, label; found id, actor"):
        load_statements(path)


def test_unknown_label_gives_line_allowed_labels_and_closest(tmp_path, statements):
    frame = statements.copy()
    frame.loc[3, "label"] = "complies"
    with pytest.raises(DataError) as err:
        load_statements(_write(tmp_path, frame))
    message = str(err.value)
    assert "line(s) 5" in message and "decline, consider, comply" in message and "'comply'" in message


def test_empty_text_duplicate_ids_and_conflicting_labels(tmp_path, statements):
    frame = statements.copy()
    frame.loc[2, "text"] = "   "
    with pytest.raises(DataError, match="empty 'text' on line\\(s\\) 4"):
        load_statements(_write(tmp_path, frame))
    frame = statements.copy()
    frame.loc[1, "id"] = frame.loc[0, "id"]
    with pytest.raises(DataError, match="duplicate id"):
        load_statements(_write(tmp_path, frame))
    frame = statements.copy()
    frame.loc[1, "text"] = frame.loc[0, "text"].upper()
    with pytest.raises(DataError, match="same text has different labels"):
        load_statements(_write(tmp_path, frame))


def test_empty_dataset(tmp_path, statements):
    path = _write(tmp_path, statements.iloc[:0])
    with pytest.raises(DataError, match="no statements"):
        load_statements(path)


def test_prediction_files_need_only_text(tmp_path):
    path = _write(tmp_path, pd.DataFrame({"text": ["We will send ships."], "source": ["x"]}))
    frame = load_statements(path, labels=None)
    assert frame.columns.tolist() == ["text", "source"]


def test_corpus_stats_counts(statements):
    tables = corpus_stats(statements)
    overview = dict(zip(tables["overview"]["statistic"], tables["overview"]["value"]))
    assert overview["statements"] == "24" and overview["episodes"] == "4" and overview["hard-case share"] == "0"
    assert tables["labels"].set_index("label")["statements"].to_dict() == {"decline": 8, "consider": 8, "comply": 8}
    episode = tables["episode"].set_index("episode")
    assert episode.loc["e1", "total"] == 6 and episode.loc["e1", "comply"] == 2
    assert tables["decade"]["decade"].tolist() == ["2010s"]
    assert length_table(statements)["statements"].sum() == 24


def test_datasheet_tables_are_generated_between_markers_and_match_the_corpus(tmp_path, statements_file):
    import re

    from stance.datasheet import END, START, update_datasheet

    agreement = tmp_path / "agreement"
    agreement.mkdir()
    frame = load_statements(statements_file)
    frame[["id", "label"]].to_json(agreement / "first_pass.jsonl", orient="records", lines=True)
    second = frame[["id", "label"]].copy()
    second.loc[0, "label"] = "decline"  # one disagreement: comply -> decline
    second.to_json(agreement / "second_pass.jsonl", orient="records", lines=True)
    sheet = tmp_path / "DATASHEET.md"
    sheet.write_text(f"# prose before\n\n{START}\nstale\n{END}\n\nprose after\n")
    update_datasheet(statements_file, sheet, None, agreement)
    text = sheet.read_text()
    assert text.startswith("# prose before") and text.rstrip().endswith("prose after") and "stale" not in text
    assert re.search(r"\| statements\s+\|\s+24 \|", text) and re.search(r"\| decline\s+\|\s+8 \|", text)
    # 23 of 24 agree; kappa by hand: p_o = 23/24, p_e = (8*9 + 8*8 + 8*7)/24**2 = 192/576 -> (0.9583-0.3333)/(0.6667) = 0.9375
    assert "0.958" in text and "0.938" in text


def test_tab_separated_txt_and_tsv_load_with_quotes_kept_as_text(tmp_path):
    lines = "id\ttext\tlabel\r\n1\t\"Quoted\" at the start, a comma\tFAVOR\r\n\r\n2\tit's \"fine\"\tAGAINST\r\n"
    for suffix in (".txt", ".tsv"):
        path = tmp_path / f"tweets{suffix}"
        path.write_text(lines, encoding="utf-8", newline="")
        frame = load_statements(path, labels=["FAVOR", "AGAINST"])
        assert frame["text"].tolist() == ['"Quoted" at the start, a comma', 'it\'s "fine"']


def test_only_id_text_and_label_are_required(tmp_path):
    path = _write(tmp_path, pd.DataFrame({"id": ["a", "b"], "text": ["one tweet", "another"], "label": ["x", "y"]}))
    assert load_statements(path, labels=["x", "y"])["label"].tolist() == ["x", "y"]


def test_labels_match_case_insensitively_and_take_the_label_sets_spelling(tmp_path):
    path = _write(tmp_path, pd.DataFrame({"id": ["a", "b", "c"], "text": ["t1", "t2", "t3"],
                                          "label": ["against", "Favor", "NONE"]}))
    assert load_statements(path, labels=["FAVOR", "AGAINST", "NONE"])["label"].tolist() == ["AGAINST", "FAVOR", "NONE"]
    with pytest.raises(DataError, match="unknown label 'Favor'.*did you mean 'FAVOUR'"):
        load_statements(path, labels=["FAVOUR", "AGAINST", "NONE"])


def test_none_is_a_label_where_the_label_set_names_it_and_an_empty_cell_otherwise(tmp_path):
    path = _write(tmp_path, pd.DataFrame({"id": ["a", "b"], "text": ["t1", "t2"], "label": ["none", "FAVOR"]}))
    assert load_statements(path, labels=["FAVOR", "AGAINST", "NONE"])["label"].tolist() == ["NONE", "FAVOR"]
    with pytest.raises(DataError, match="empty 'label' on line\\(s\\) 2"):
        load_statements(path, labels=["FAVOR", "AGAINST"])


def test_one_text_may_carry_two_labels_toward_two_requests(tmp_path):
    frame = pd.DataFrame({"id": ["a", "b"], "text": ["Same tweet"] * 2, "request": ["Atheism", "Hillary Clinton"],
                          "label": ["FAVOR", "AGAINST"]})
    assert len(load_statements(_write(tmp_path, frame), labels=["FAVOR", "AGAINST"])) == 2
    with pytest.raises(DataError, match="same text has different labels"):
        load_statements(_write(tmp_path, frame.assign(request="Atheism")), labels=["FAVOR", "AGAINST"])


def test_tsv_output_refuses_a_cell_it_cannot_hold(tmp_path):
    from stance.io import write_frame

    write_frame(pd.DataFrame({"text": ['a "quoted" word']}), tmp_path / "ok.tsv")
    assert (tmp_path / "ok.tsv").read_text() == 'text\na "quoted" word\n'
    with pytest.raises(DataError, match="tab or a line break"):
        write_frame(pd.DataFrame({"text": ["two\nlines"]}), tmp_path / "bad.tsv")
