"""Request and response models of /v1/recipes: each training recipe's form (its JSON schema, taken
from the recipe's pydantic model, and its field groups) and the validation of a recipe before it is
submitted (the problems by field path, or the normalised recipe and its YAML)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class RecipeFieldGroup(BaseModel):
    title: str
    fields: list[str]
    open: bool = Field(description="Shown unfolded at first.")


class RecipeForm(BaseModel):
    recipe: str = Field(description="The value of the recipe's `recipe:` key: sft, dpo or classifier.")
    title: str
    description: str
    json_schema: dict[str, Any] = Field(alias="schema", description="JSON schema of the recipe's fields "
                                        "(types, defaults, bounds, help text), from its pydantic model.")
    groups: list[RecipeFieldGroup]

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class RecipeForms(BaseModel):
    object: Literal["list"] = "list"
    data: list[RecipeForm]
    suggestions: dict[str, list[str]] = Field(
        description="Values known to this server, by field: base_model (the model catalogue), dataset and "
                    "eval_dataset (the dataset registry), sft_adapter (the adapter registry), dataset_format.")


class RecipeValidateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipe: dict[str, Any] = Field(description="Recipe fields as in a YAML file; `recipe` defaults to sft.")


class RecipeProblem(BaseModel):
    path: str = Field(description="Dotted field path (lora.r); empty for the recipe as a whole.")
    message: str


class RecipeValidation(BaseModel):
    object: Literal["recipe_validation"] = "recipe_validation"
    valid: bool
    errors: list[RecipeProblem] = Field(description="Why the recipe would be refused, by field.")
    warnings: list[RecipeProblem] = Field(
        description="What this server cannot find (a dataset, base model or adapter name): the job would fail "
                    "when it runs here, unless the name exists where it runs.")
    recipe: dict[str, Any] | None = Field(description="The normalised recipe: what a train job runs with.")
    yaml: str | None = Field(description="The normalised recipe as YAML that `tunelab train FILE` reads.")
