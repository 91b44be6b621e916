"""The API contract: what a prediction request must hold, and what the answers look like."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Patient(BaseModel):
    """One patient. Strict: "42" is not an age, 42.5 is not a blood pressure, unknown fields
    are refused. Ranges are closed: both ends are valid inputs."""

    model_config = ConfigDict(strict=True, extra="forbid")

    age: int = Field(ge=18, le=100, description="years")
    bmi: float = Field(ge=10, le=60, allow_inf_nan=False, description="kg/m²")
    systolic_bp: int = Field(ge=70, le=250, description="mmHg")
    sex: Literal["F", "M"]
    smoker: Literal["no", "yes"]
    activity: Literal["low", "moderate", "high"]


class ModelRef(BaseModel):
    name: str | None
    version: str | None
    uri: str


class Prediction(BaseModel):
    risk: str = Field(description='the predicted class, "low" or "high"')
    probability: float | None = Field(
        description='probability of "high" risk, if the model gives one'
    )
    model: ModelRef


class Health(BaseModel):
    status: Literal["ok"]
    model: ModelRef
