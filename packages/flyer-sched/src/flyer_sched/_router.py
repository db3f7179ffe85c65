"""The management API: list, pause, resume, run now and remove jobs (FastAPI, imported lazily).

Responses use flyer's envelope (`code`, `message`, `detail`, `data`, `request_id`). A job is
addressed by its id in the path; ids may contain `:` and `.`, and `/` when percent-encoded.
"""

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

if TYPE_CHECKING:
    from flyer_sched._schedulers import Scheduler


def _find(schedulers: Sequence["Scheduler"], job_id: str) -> Optional[Tuple["Scheduler", Any]]:
    for scheduler in schedulers:
        job = scheduler.get_job(job_id)
        if job is not None:
            return scheduler, job
    return None


def create_router(
    schedulers: Optional[Sequence["Scheduler"]] = None,
    *,
    prefix: str = "",
    dependencies: Optional[Sequence[Any]] = None,
    tags: Optional[List[Any]] = None,
) -> Any:
    """A FastAPI `APIRouter` managing the jobs of `schedulers` (default: both of flyer's).

    Routes (under `prefix`): `GET ""` lists jobs and leaders; `GET /{id}` shows one job;
    `POST /{id}/pause`, `POST /{id}/resume`, `POST /{id}/run` (202: queued now, in this
    process); `DELETE /{id}` removes it from this process. Pause and resume of a locked job
    apply to every process sharing its lock store.
    """
    from fastapi import APIRouter

    router = APIRouter(
        prefix=prefix, dependencies=list(dependencies or []), tags=list(tags or ["tasks"])
    )
    add_routes(router, schedulers)
    return router


def add_routes(
    target: Any,
    schedulers: Optional[Sequence["Scheduler"]] = None,
    *,
    prefix: str = "",
    dependencies: Optional[Sequence[Any]] = None,
    tags: Optional[List[Any]] = None,
) -> None:
    """Add `create_router`'s routes to `target` (an app or a router) directly, under `prefix`,
    with `dependencies` and `tags` (if any) on each route: the plugin's way, which builds
    each route once (including a router in an app builds its routes again)."""
    from fastapi.responses import JSONResponse

    from flyer_sched._models import LeaderTask, RemovedJob, ScheduledJob, ScheduledJobs
    from flyer_status import current_renderer
    from flyer_status.schemas import DataResponse, ErrorResponse

    if schedulers is None:
        from flyer_sched._defaults import asyncio_scheduler, background_scheduler

        schedulers = [background_scheduler, asyncio_scheduler]
    chosen = list(schedulers)

    def error(code: int, message: str, detail: str) -> Any:
        body = current_renderer().body(code, message, detail)  # the app's envelope and code base
        return JSONResponse(body, status_code=code)

    def not_found(job_id: str) -> Any:
        return error(404, "Not Found", f"no scheduled job with id {job_id!r}")

    def store_down(exc: Exception) -> Any:
        # The store's own message can name its URL: the kind of failure is enough here.
        return error(503, "Service Unavailable", f"lock store unreachable ({type(exc).__name__})")

    def job_response(scheduler: "Scheduler", job_id: str) -> Any:
        job = scheduler.get_job(job_id)
        if job is None:
            return not_found(job_id)
        return DataResponse[ScheduledJob](
            message="OK", data=ScheduledJob(**scheduler.job_info(job))
        )

    errors: Dict[Union[int, str], Dict[str, Any]] = {
        404: {"model": ErrorResponse, "description": "No such job"},
        503: {"model": ErrorResponse, "description": "Lock store unreachable"},
    }
    common: Dict[str, Any] = {}
    if dependencies:
        common["dependencies"] = list(dependencies)
    if tags:
        common["tags"] = list(tags)

    def route(path: str, method: str, **options: Any) -> Callable[[Any], Any]:
        def add(endpoint: Any) -> Any:
            target.add_api_route(prefix + path, endpoint, methods=[method], **common, **options)
            return endpoint

        return add

    @route("", "GET", response_model=DataResponse[ScheduledJobs], summary="List scheduled jobs")
    def list_jobs() -> Any:
        jobs: List[Dict[str, Any]] = []
        leaders: List[Dict[str, Any]] = []
        for scheduler in chosen:
            jobs.extend(scheduler.list_jobs())
            leaders.extend(scheduler.list_leaders())
        data = ScheduledJobs(
            jobs=[ScheduledJob(**j) for j in jobs], leaders=[LeaderTask(**x) for x in leaders]
        )
        return DataResponse[ScheduledJobs](message="OK", data=data)

    def act(
        job_id: str,
        change: Callable[["Scheduler", str], Any],
        respond: Callable[["Scheduler", Any], Any],
    ) -> Any:
        """Find the job, `change` it, `respond`; a missing job, a store that is down or a
        scheduler that cannot run it answers with its error."""
        found = _find(chosen, job_id)
        if found is None:
            return not_found(job_id)
        scheduler, job = found
        # APScheduler is loaded by now (the job was found): its errors, and the lock stores'
        # error, are imported here so that building the routes does not load them.
        from apscheduler.executors.base import MaxInstancesReachedError
        from apscheduler.jobstores.base import JobLookupError
        from apscheduler.schedulers import SchedulerNotRunningError

        from flyer_sched._store import LockStoreError

        try:
            change(scheduler, job_id)
        except JobLookupError:
            return not_found(job_id)
        except LockStoreError as exc:
            return store_down(exc)
        except SchedulerNotRunningError:
            return error(409, "Conflict", f"the {scheduler.flyer_name} scheduler is not running")
        except MaxInstancesReachedError:
            return error(409, "Conflict", f"job {job_id!r} is already running here")
        return respond(scheduler, job)

    def shown(scheduler: "Scheduler", job: Any) -> Any:
        return job_response(scheduler, job.id)  # as it stands after the change

    one_job: Dict[str, Any] = {"response_model": DataResponse[ScheduledJob], "responses": errors}

    @route("/{job_id:path}", "GET", summary="Show one job", **one_job)
    def show_job(job_id: str) -> Any:
        found = _find(chosen, job_id)
        if found is None:
            return not_found(job_id)
        return job_response(found[0], job_id)

    @route(
        "/{job_id:path}/pause",
        "POST",
        summary="Pause a job (fleet-wide when it is locked)",
        **one_job,
    )
    def pause_job(job_id: str) -> Any:
        return act(job_id, lambda scheduler, jid: scheduler.pause_job(jid), shown)

    @route(
        "/{job_id:path}/resume",
        "POST",
        summary="Resume a job (fleet-wide when it is locked)",
        **one_job,
    )
    def resume_job(job_id: str) -> Any:
        return act(job_id, lambda scheduler, jid: scheduler.resume_job(jid), shown)

    @route(
        "/{job_id:path}/run",
        "POST",
        status_code=202,
        response_model=DataResponse[ScheduledJob],
        responses={
            **errors,
            409: {"model": ErrorResponse, "description": "Not running, or already running"},
        },
        summary="Run a job once now, in this process",
    )
    def run_job(job_id: str) -> Any:
        def accepted(scheduler: "Scheduler", job: Any) -> Any:
            data = ScheduledJob(**scheduler.job_info(job))
            return DataResponse[ScheduledJob](code=202, message="Accepted", data=data)

        return act(job_id, lambda scheduler, jid: scheduler.run_job_now(jid), accepted)

    @route(
        "/{job_id:path}",
        "DELETE",
        response_model=DataResponse[RemovedJob],
        responses=errors,
        summary="Remove a job from this process",
    )
    def remove_job(job_id: str) -> Any:
        removed = DataResponse[RemovedJob](message="OK", data=RemovedJob(id=job_id))
        return act(job_id, lambda scheduler, jid: scheduler.remove_job(jid), lambda *_: removed)
