from sergen.corpora import read_corpus
from tests.conftest import write_wav


def test_csv_with_synonyms_and_splits(tmp_path):
    for i in range(4):
        write_wav(tmp_path / f"clips/c{i}.wav")
    (tmp_path / "labels.csv").write_text(
        "path,label,speaker,split\nclips/c0.wav,happy,s1,train\nclips/c1.wav,Anger,s1,dev\n"
        "clips/c2.wav,surprise,s2,test\nclips/c3.wav,calm,s2,holdout\n")
    result = read_corpus("folder", tmp_path, name="mine")
    df = result.manifest
    assert df[["utt_id", "label", "split"]].values.tolist() == [["clips__c0", "hap", "train"], ["clips__c1", "ang", "valid"]]
    assert set(df.corpus) == {"mine"}
    assert result.dropped["label surprise"] == 1
    assert "unknown split: 'holdout'" in result.problems.items[0][1]
