"""The management API's data models (pydantic; imported only by `create_router`).

At module level so OpenAPI names them `ScheduledJob`, not `create_router.<locals>.ScheduledJob`.
"""

from typing import List, Optional

from pydantic import BaseModel


class ScheduledJob(BaseModel):
    id: str
    name: str
    scheduler: str
    trigger: str
    next_run_time: Optional[str] = None
    last_run_time: Optional[str] = None
    paused: bool = False
    locked: bool = False
    lock_id: Optional[str] = None
    lock_holder: Optional[str] = None
    fencing_token: Optional[int] = None
    lock_error: Optional[str] = None


class LeaderTask(BaseModel):
    id: str
    scheduler: str
    leading_here: bool = False
    lock_holder: Optional[str] = None
    fencing_token: Optional[int] = None
    lock_error: Optional[str] = None


class ScheduledJobs(BaseModel):
    jobs: List[ScheduledJob]
    leaders: List[LeaderTask]


class RemovedJob(BaseModel):
    id: str
    removed: bool = True
