from chalicelib.store import templates as templates  # registers TemplateModel (issue 4/3)
