"""All SQL lives here: one repository class per aggregate, built with the AsyncSession."""
