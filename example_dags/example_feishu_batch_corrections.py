"""Apply a file of offboarding corrections to Feishu: one task for all records, or one mapped task per record.

The story: a nightly export from another HR system lists corrections to offboardings already in Feishu
(a moved last day, a missing explanation, custom fields). ``data/offboarding_corrections.csv`` next to this
file stands for that export: one row per field, ``offboarding_id,field_name,value``.

Two DAGs apply the same records ``{"offboarding_id", "update_data"}`` (the rows grouped by offboarding):

* ``example_feishu_batch_corrections``: one :class:`EditOffboardingOperator` task applies them all
  (``offboardings=``; records run concurrently within the edit endpoint's rate limit, and one bad record
  does not stop the others); ``report_outcomes`` reads the operator's XCom and returns the counts and the
  failed records.
* ``example_feishu_batch_corrections_mapped``: the same records through dynamic task mapping, one task instance
  per record, so each record can be retried or cleared on its own in the UI: ``correction_ids`` lists the
  offboarding ids, ``.expand(offboarding_id=...)`` maps over them and each instance renders its own fields.

The values reach the operator through a template (the macros ``corrections`` and ``correction_fields`` read the
file when the task renders), not through an upstream task's XCom: an upstream task returning values would store
them in Airflow's database, which privacy mode (the connection extra ``privacy``, docs/privacy.md) is there to
prevent; the operator hashes the rendered values it stores. Only ids travel through XCom.

``report_outcomes`` runs even when some corrections failed (``trigger_rule="all_done"``): the operator pushes
every record's outcome before it fails the task. The report then fails too, so the DAG run shows the failure.
Which form to choose: see "Batches or mapping" in docs/scaling.md.

Params: ``feishu_conn_id`` (connection of type ``feishu``) and ``corrections_file`` (a CSV path; empty means
the file shipped with this example).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import AirflowFailException, Param, dag, get_current_context, task

from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator

SHIPPED_CORRECTIONS = Path(__file__).parent / "data" / "offboarding_corrections.csv"


def _params() -> dict[str, Param]:
    return {
        "feishu_conn_id": Param("feishu_default", type="string", description="Airflow connection of type feishu"),
        "corrections_file": Param(
            "", type="string", description="CSV offboarding_id,field_name,value; empty: the file shipped here"
        ),
    }


def corrections(corrections_file: str) -> list[dict[str, Any]]:
    """Group the CSV rows by offboarding into ``[{"offboarding_id": ..., "update_data": {field: value}}]``.

    A macro (``{{ corrections(params.corrections_file) }}``): read when the apply task renders its arguments.
    """
    path = Path(corrections_file) if corrections_file else SHIPPED_CORRECTIONS
    records: dict[str, dict[str, str]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            offboarding_id = (row.get("offboarding_id") or "").strip()
            field_name = (row.get("field_name") or "").strip()
            if not offboarding_id or not field_name or row.get("value") is None:
                raise ValueError(f"{path.name} line {line}: offboarding_id, field_name and value are required")
            fields = records.setdefault(offboarding_id, {})
            if field_name in fields:
                raise ValueError(f"{path.name} line {line}: {field_name} is given twice for {offboarding_id}")
            fields[field_name] = row["value"]
    return [{"offboarding_id": oid, "update_data": fields} for oid, fields in records.items()]


def correction_fields(corrections_file: str, offboarding_id: str) -> dict[str, str]:
    """The fields of one offboarding in the file (a macro of the mapped DAG, rendered by each instance).

    :param corrections_file: the CSV path (empty: the shipped file).
    :param offboarding_id: the mapped instance's offboarding.
    """
    for record in corrections(corrections_file):
        if record["offboarding_id"] == offboarding_id:
            fields: dict[str, str] = record["update_data"]
            return fields
    raise ValueError(f"offboarding {offboarding_id} is no longer in the corrections file")


@task
def correction_ids(corrections_file: str) -> list[str]:
    """The offboarding ids of the file, in order (ids only: no value goes to XCom)."""
    return [record["offboarding_id"] for record in corrections(corrections_file)]


MACROS = {"corrections": corrections, "correction_fields": correction_fields}


@task(trigger_rule="all_done", multiple_outputs=False)
def report_outcomes(outcomes: Any) -> dict[str, Any]:
    """Summarize the edit outcomes: counts per outcome and the failed records with code, message and log id.

    ``outcomes`` is the operator's XCom envelope (``{"operation", "mode", "total", "counts", "records", ...}``,
    ``docs/xcom.md``) or, from the mapped task, the list of the mapped tasks' envelopes (same shape). The summary
    is the XCom ``return_value``; when a correction failed, it is pushed and then the task fails too, so the DAG
    run is marked failed (a run that corrected nothing for some records must not look green).
    """
    # The mapped task's XComs come as a lazy sequence: one slice reads them all (iterating it would ask for one
    # item past the end, which Airflow 3's API answers with a 404 that the scheduler logs).
    envelopes = [outcomes] if isinstance(outcomes, dict) else [e for e in outcomes[:] if e is not None]
    records = [record for envelope in envelopes for record in envelope["records"]]
    counts: dict[str, int] = {}
    for record in records:
        counts[record["outcome"]] = counts.get(record["outcome"], 0) + 1
    failed = [
        {"offboarding_id": r["offboarding_id"], **{k: r["error"][k] for k in ("code", "message", "log_id")}}
        for r in records
        if r["outcome"] == "failed"
    ]
    edited = sorted(r["offboarding_id"] for r in records if r["outcome"] == "edited")
    summary = {"total": len(records), "counts": counts, "edited": edited, "failed": failed}
    if failed:
        get_current_context()["ti"].xcom_push(key="return_value", value=summary)
        ids = ", ".join(f"{f['offboarding_id']} (code {f['code']}, log id {f['log_id']})" for f in failed)
        raise AirflowFailException(f"{len(failed)} of {len(records)} correction(s) failed: {ids}")
    return summary


@dag(
    dag_id="example_feishu_batch_corrections",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "feishu"],
    params=_params(),
    user_defined_macros=MACROS,
    render_template_as_native_obj=True,  # the macros' lists and mappings reach the operator as they are
    doc_md=__doc__,
)
def example_feishu_batch_corrections() -> None:
    apply_all = EditOffboardingOperator(
        task_id="apply_corrections",
        offboardings="{{ corrections(params.corrections_file) }}",
        feishu_conn_id="{{ params.feishu_conn_id }}",
    )
    report_outcomes(apply_all.output)


@dag(
    dag_id="example_feishu_batch_corrections_mapped",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "feishu"],
    params=_params(),
    user_defined_macros=MACROS,
    render_template_as_native_obj=True,
    doc_md=__doc__,
)
def example_feishu_batch_corrections_mapped() -> None:
    ids = correction_ids(corrections_file="{{ params.corrections_file }}")
    apply_each = EditOffboardingOperator.partial(
        task_id="apply_correction",
        update_data="{{ correction_fields(params.corrections_file, task.offboarding_id) }}",
        feishu_conn_id="{{ params.feishu_conn_id }}",
    ).expand(offboarding_id=ids)
    report_outcomes(apply_each.output)


batch_dag = example_feishu_batch_corrections()
mapped_dag = example_feishu_batch_corrections_mapped()
