# Stands in for mcr.microsoft.com/dotnet/aspnet:10.0 when no registry can be reached (tagged with
# that name by tools/compose/compose_run.py, so docker/node/Dockerfile stays as it is). Debian 12 with this
# machine's own .NET and ASP.NET Core runtimes, which compose_run.py puts in the build context as dotnet/, and what the
# official image gives the node's Dockerfile: the user app with uid $APP_UID, dotnet on PATH.
FROM debian:12
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends ca-certificates libicu72 libssl3 libstdc++6 tzdata zlib1g \
 && rm -rf /var/lib/apt/lists/*
ENV APP_UID=1654 \
    DOTNET_RUNNING_IN_CONTAINER=true
RUN groupadd --gid=$APP_UID app \
 && useradd --no-log-init --uid=$APP_UID --gid=$APP_UID --create-home app
ARG DOTNET_VERSION
ENV DOTNET_VERSION=$DOTNET_VERSION
COPY dotnet/ /usr/share/dotnet/
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \
 && dotnet --list-runtimes
