"""Templates admins control: the shipped catalog, versioned overrides, validation and sandboxed rendering."""

from gateway.templating.catalog import UnknownTemplateError
from gateway.templating.render import Rendered, render_template
from gateway.templating.samples import sample_variables
from gateway.templating.validate import TemplateProblemError

__all__ = ["Rendered", "TemplateProblemError", "UnknownTemplateError", "render_template", "sample_variables"]
