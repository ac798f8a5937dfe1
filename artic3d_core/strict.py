"""Base model for every config section: unknown keys are errors, assignments are validated."""

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A pydantic model that forbids unknown keys."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)
