# Accounts, `include`d by the Makefile (mk/*.mk).
#   make create-admin ADMIN_USERNAME=jake ADMIN_EMAIL=jake@example.com
#                            migrate CONDUIT_DATABASE_URL, then create an admin account; the
#                            password is asked twice on the terminal (never an argument). From a
#                            script: `printf '%s\n' "$PASSWORD" | .venv/bin/conduit create-admin
#                            --username … --email … --password-stdin`.
#   make create-admin ADMIN_USERNAME=jake ADMIN_PROMOTE=1
#                            make the existing account jake an admin (and lift its ban).
# No API operation creates an admin: whoever runs this holds the database credentials.

ADMIN_USERNAME ?=
ADMIN_EMAIL ?=
ADMIN_PROMOTE ?=

.PHONY: create-admin

create-admin: install  ## create an admin: ADMIN_USERNAME=… ADMIN_EMAIL=… (or ADMIN_PROMOTE=1)
	@[ -n "$(ADMIN_USERNAME)" ] || { echo "create-admin: set ADMIN_USERNAME (and ADMIN_EMAIL, or ADMIN_PROMOTE=1)" >&2; exit 2; }
	$(BIN)/conduit create-admin --username "$(ADMIN_USERNAME)" \
		$(if $(ADMIN_PROMOTE),--promote,--email "$(ADMIN_EMAIL)")
