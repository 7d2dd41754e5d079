# PgBouncer from Debian's package, for deploy/compose.pgbouncer.yaml: the same program the
# tests run (1.18 on bookworm), as the package's user `postgres`, never as root.
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends pgbouncer \
    && rm -rf /var/lib/apt/lists/* \
    && chown postgres:postgres /etc/pgbouncer
COPY compose.pgbouncer.ini /etc/pgbouncer/pgbouncer.ini
USER postgres
EXPOSE 6432
# the user list, from the database password in the environment, then PgBouncer itself
CMD ["sh", "-c", "umask 077 && printf '\"commonsfed\" \"%s\"\\n' \"$POSTGRES_PASSWORD\" > /etc/pgbouncer/userlist.txt && exec pgbouncer /etc/pgbouncer/pgbouncer.ini"]
