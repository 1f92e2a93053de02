from pagestream.streams.cli.eval.measures import cer, word_precision, word_recall


def test_word_recall_is_a_multiset_overlap() -> None:
    assert word_recall("Total: 12.50 total", "total total 12 50 EUR") == 0.8
    assert word_precision("a b c d", "a b") == 0.5
    assert word_recall("", "") == 1.0


def test_cer() -> None:
    assert cer("hello  world", "hello world") == 0
    assert round(cer("hallo world", "hello world"), 3) == round(1 / 11, 3)
