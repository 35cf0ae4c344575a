"""The output tables of docs/model.md §11 built from hand-made arrays: every cell where it
belongs, counts as integers, ratios NaN where their denominator is zero; and the segments
table of a run adding up to its timeseries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marktsim.engine.account import METRICS, M
from marktsim.engine.state import KIND_NAMES, SEGMENT_NAMES
from marktsim.results import (
    COUNT_METRICS,
    SEGMENT_METRICS,
    SUMMARY_COLUMNS,
    TIMESERIES_KEYS,
    Results,
    replicate_ids,
    segments_table,
    summary_table,
    timeseries_table,
)

from conftest import run

FIRMS = ("focal", "rival_9", "rival_10")  # an order that sorting the names would change
SUMMARY_COUNTS = ("won", "won_by_wom", "lost", "won_incentive", "final_customers")  # stored as integers


def _records(ticks: int, seed: int = 1) -> np.ndarray:
    """(ticks, firms, metrics) of distinct values; counts with fractional parts 0.3 and 0.7, so
    that rounding and truncation differ."""
    rng = np.random.default_rng(seed)
    records = rng.uniform(1.0, 50.0, size=(ticks, len(FIRMS), len(METRICS)))
    for name in COUNT_METRICS:
        top = 5 if name.startswith("lost") else 40  # fewer lost than at the start (10 or more)
        records[:, :, M[name]] = rng.integers(0, top, size=(ticks, len(FIRMS))) + rng.choice([0.3, 0.7], (ticks, len(FIRMS)))
    records[:, :, M["customers"]] += 10
    return records


def test_timeseries_table_puts_every_figure_in_its_row_and_column():
    records = _records(4)
    table = timeseries_table(records, 7, FIRMS)
    assert list(table.columns) == [*TIMESERIES_KEYS, *METRICS]
    assert len(table) == 4 * len(FIRMS)
    assert table.replicate.dtype == np.int64 and (table.replicate == 7).all()
    assert table.tick.dtype == np.int64
    assert list(table.firm.cat.categories) == list(FIRMS)
    for row in range(len(table)):
        t, f = divmod(row, len(FIRMS))  # tick-major, firms in order
        assert table.tick[row] == t + 1 and table.firm[row] == FIRMS[f]
        for name in METRICS:
            expected = np.round(records[t, f, M[name]]) if name in COUNT_METRICS else records[t, f, M[name]]
            assert table[name][row] == expected, (row, name)
    for name in METRICS:
        assert table[name].dtype == (np.int64 if name in COUNT_METRICS else np.float64), name


def test_timeseries_table_copies_the_records():
    records = _records(2)
    table = timeseries_table(records, 0, FIRMS)
    before = table.copy()
    records[:] = -1.0
    pd.testing.assert_frame_equal(table, before)


def _segment_records(ticks: int) -> np.ndarray:
    """(ticks, metrics, firms, cells) of distinct values, counts with fractional parts."""
    rng = np.random.default_rng(2)
    seg = rng.uniform(1.0, 90.0, size=(ticks, len(SEGMENT_METRICS), len(FIRMS), 6))
    seg[:, :2] = np.floor(seg[:, :2]) + rng.choice([0.3, 0.7], seg[:, :2].shape)
    return seg


def test_segments_table_puts_every_cell_in_its_row():
    seg = _segment_records(3)
    table = segments_table(seg, 5, FIRMS)
    assert list(table.columns) == ["replicate", "tick", "firm", "segment", "kind", *SEGMENT_METRICS]
    assert len(table) == 3 * len(FIRMS) * 6
    assert table.replicate.dtype == np.int64 and (table.replicate == 5).all()
    assert list(table.segment.cat.categories) == list(SEGMENT_NAMES)
    assert list(table.kind.cat.categories) == list(KIND_NAMES)
    assert list(table.firm.cat.categories) == list(FIRMS)
    assert table.customers.dtype == np.int64 and table.lost.dtype == np.int64 and table.revenue.dtype == np.float64
    for row in range(len(table)):
        t, rest = divmod(row, len(FIRMS) * 6)
        f, cell = divmod(rest, 6)
        segment, kind = divmod(cell, 2)  # cell = segment·2 + B2B (engine.account.by_cell)
        got = table.iloc[row]
        assert (got.tick, got.firm, got.segment, got.kind) == (t + 1, FIRMS[f], SEGMENT_NAMES[segment], KIND_NAMES[kind])
        assert got.customers == np.round(seg[t, 0, f, cell]) and got.lost == np.round(seg[t, 1, f, cell])
        assert got.revenue == seg[t, 2, f, cell]
    before = table.copy()
    seg[:] = -1.0
    pd.testing.assert_frame_equal(table, before)


def test_a_runs_segments_add_up_to_its_timeseries(engine):
    results = run(["market.n_customers=1500", "horizon=6", "customers.b2b_share=0.3"])
    seg = results.segments.groupby(["tick", "firm"], observed=True)[["customers", "lost", "revenue"]].sum()
    ts = results.timeseries.set_index(["tick", "firm"])[["customers", "lost", "revenue"]].loc[seg.index]
    assert (ts.lost > 0).any() and (ts.customers > 0).all()  # every figure has something to add
    np.testing.assert_array_equal(seg.customers, ts.customers)
    np.testing.assert_array_equal(seg.lost, ts.lost)
    np.testing.assert_allclose(seg.revenue, ts.revenue, rtol=1e-9)
    by_kind = results.segments.groupby("kind", observed=True).customers.sum()
    assert by_kind["B2B"] > 0 and by_kind["B2C"] > 0  # both kinds are filled, each in its own rows


def _summary(records: np.ndarray, initial=(10.0, 10.0, 10.0), discount: float = 0.01) -> pd.DataFrame:
    """The summary, computed where floating-point errors raise: a ratio without a denominator
    is NaN silently, not a warning per firm and run of a sweep."""
    with np.errstate(all="raise"):
        return summary_table(records, np.asarray(initial), discount, 3, FIRMS)


def test_summary_row_layout_and_hand_made_totals():
    records = _records(3)
    summary = _summary(records)
    assert list(summary.columns) == ["replicate", "firm", *SUMMARY_COLUMNS]
    assert summary.replicate.dtype == np.int64 and (summary.replicate == 3).all()
    assert list(summary.firm) == list(FIRMS) and list(summary.firm.cat.categories) == list(FIRMS)
    for f in range(len(FIRMS)):
        row = summary.iloc[f]
        for name, column in (("revenue", "revenue"), ("npv", "discounted_profit"), ("profit", "profit"),
                             ("acquisition_spend", "acquisition_spend"), ("incentive_spend", "incentive_spend")):
            assert row[name] == pytest.approx(records[:, f, M[column]].sum(), rel=1e-14), name
        for name in ("won", "won_by_wom", "lost", "won_incentive"):
            assert row[name] == np.round(records[:, f, M[name]].sum()), name
        assert row.final_customers == np.round(records[-1, f, M["customers"]])
        assert row.final_share == records[-1, f, M["share"]]
        churn = records[:, f, M["churn_rate"]].mean()
        assert row.churn_annual == pytest.approx(1 - (1 - churn) ** 12, rel=1e-14)
    for name in SUMMARY_COUNTS:
        assert summary[name].dtype == np.int64, name


def _zero(records: np.ndarray, *names: str) -> np.ndarray:
    out = records.copy()
    for name in names:
        out[:, :, M[name]] = 0.0
    return out


def test_summary_ratios_are_nan_where_their_denominator_is_zero():
    """Each case keeps its numerator non-zero, so that a guard that let the division through
    would give ±inf instead of NaN."""
    base = _records(3)
    summary = _summary(_zero(base, "won"))
    assert (summary.acquisition_spend > 0).all() and summary.cac.isna().all()  # nobody won

    summary = _summary(_zero(base, "acquisition_spend", "retention_spend", "incentive_spend"))
    assert (summary.gross_margin > 0).all() and summary.romi.isna().all()  # no marketing spend
    assert (summary.retention_cost_per_customer_year == 0).all()  # customers kept: zero, not NaN

    summary = _summary(_zero(base, "customers_incentive"))  # (lost_incentive stays > 0)
    assert summary.churn_incentive.isna().all() and summary.clv_incentive.isna().all()
    assert summary.churn_other.notna().all() and summary.clv_other.notna().all()

    summary = _summary(_zero(base, "revenue"))  # margin without revenue: no margin rate
    assert summary.clv_other.isna().all() and summary.clv_incentive.isna().all() and summary.clv.notna().all()

    lost_all = base[:2].copy()  # every customer lost every tick: no customer-year kept
    lost_all[:, :, M["lost"]] = np.vstack([[10.0, 10.0, 10.0], lost_all[0, :, M["customers"]]])
    summary = _summary(lost_all)
    assert (summary.retention_spend > 0).all()
    assert summary.retention_cost_per_customer_year.isna().all() and summary.cost_ratio.isna().all()

    nobody = _summary(_zero(base, "customers", "customers_incentive"), initial=(0.0, 0.0, 0.0))
    assert (nobody.gross_margin > 0).all() and (nobody.lost > 0).all()  # numerators without customers
    assert nobody.clv.isna().all() and nobody.churn_other.isna().all()


def test_summary_ratios_are_defined_from_a_denominator_of_one():
    """One customer-month, one customer won, a twelfth of a customer-year kept, 0.9 of
    marketing spend and 0.5 of revenue: small denominators, each ratio still defined."""
    d = 0.01
    records = np.zeros((1, len(FIRMS), len(METRICS)))
    for name, value in (("customers", 1.0), ("won", 1.0), ("acquisition_spend", 0.3), ("retention_spend", 0.3),
                        ("incentive_spend", 0.3), ("revenue", 0.5), ("gross_margin", 0.2)):
        records[:, :, M[name]] = value
    summary = _summary(records, initial=(1.0, 1.0, 1.0), discount=d)
    expected = {"cac": 0.3, "retention_cost_per_customer_year": 0.3 * 12, "cost_ratio": 0.3 / 3.6,
                "romi": (0.2 - 0.9) / 0.9, "clv": (0.2 - 0.3) / d, "churn_other": 0.0,
                "clv_other": (0.4 * 0.5 - 0.3) / d, "churn_mean": 0.0, "churn_annual": 0.0}
    for name, value in expected.items():
        np.testing.assert_allclose(summary[name], value, rtol=1e-12, err_msg=name)
    assert summary.churn_incentive.isna().all()

    records = np.zeros((2, len(FIRMS), len(METRICS)))  # one incentive customer-month, then lost
    records[0, :, M["customers_incentive"]] = 1.0
    records[:, :, M["customers"]] = 1.0
    records[1, :, M["lost_incentive"]] = records[1, :, M["lost"]] = 1.0
    np.testing.assert_allclose(_summary(records, initial=(1.0, 1.0, 1.0)).churn_incentive, 1.0, rtol=1e-15)


def test_summary_columns_are_integers_or_floats():
    for summary in (_summary(_records(3)), _summary(_zero(_records(3), "acquisition_spend", "retention_spend",
                                                            "incentive_spend", "won", "customers_incentive"))):
        for name in SUMMARY_COLUMNS:
            assert summary[name].dtype == (np.int64 if name in SUMMARY_COUNTS else np.float64), name


def test_summary_of_no_ticks_is_zero_totals_and_nan_ratios():
    summary = _summary(np.zeros((0, len(FIRMS), len(METRICS))))
    assert len(summary) == len(FIRMS) and list(summary.firm) == list(FIRMS)
    for name in ("revenue", "profit", "npv", "won", "lost", "final_customers", "final_share", "churn_mean",
                 "churn_annual", "incentive_spend"):
        assert (summary[name] == 0).all(), name
    for name in ("cac", "retention_cost_per_customer_year", "romi", "churn_incentive", "churn_other"):
        assert summary[name].isna().all(), name


def test_replicate_ids_take_a_count_or_a_list():
    assert replicate_ids(3) == [0, 1, 2]
    assert replicate_ids(np.int64(2)) == [0, 1]
    assert replicate_ids(1) == [0]
    assert replicate_ids([4, 2]) == [4, 2] and replicate_ids((0,)) == [0]
    assert replicate_ids(np.array([3, 1])) == [3, 1]
    for bad in (0, -2):
        with pytest.raises(ValueError, match=rf"replicates = {bad}: allowed: an integer >= 1"):
            replicate_ids(bad)
    for bad in ([], [2, -1]):
        with pytest.raises(ValueError, match=r"allowed: a non-empty list of indices >= 0"):
            replicate_ids(bad)


def test_concat_joins_in_order_and_keeps_a_config():
    parts = [Results(timeseries_table(_records(2, seed), r, FIRMS), segments_table(_segment_records(2), r, FIRMS),
                     _summary(_records(2, seed)), {"seed": r}) for r, seed in ((0, 3), (1, 4))]
    joined = Results.concat(parts)
    assert joined.config == {"seed": 0}  # the first part's
    assert Results.concat(parts, {"seed": 9}).config == {"seed": 9}
    for name in ("timeseries", "segments", "summary"):
        table = getattr(joined, name)
        expected = pd.concat([getattr(p, name) for p in parts])
        assert list(table.index) == list(range(len(expected)))
        pd.testing.assert_frame_equal(table, expected.reset_index(drop=True))
