# Stands in for mcr.microsoft.com/dotnet/sdk:10.0 when no registry can be reached (tagged with that
# name by tools/compose/compose_run.py). The same first layers as runtime.Dockerfile, then this machine's
# whole .NET installation (dotnet/ in the build context) and its extra CA certificates
# (ca-certificates/): NuGet is reached through an intercepting proxy on our machines, and the proxy's
# certificates can be checked for revocation only offline.
FROM debian:12
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends ca-certificates libicu72 libssl3 libstdc++6 tzdata zlib1g \
 && rm -rf /var/lib/apt/lists/*
ENV APP_UID=1654 \
    DOTNET_RUNNING_IN_CONTAINER=true
RUN groupadd --gid=$APP_UID app \
 && useradd --no-log-init --uid=$APP_UID --gid=$APP_UID --create-home app
COPY ca-certificates/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
ARG DOTNET_SDK_VERSION
ENV DOTNET_SDK_VERSION=$DOTNET_SDK_VERSION \
    DOTNET_NOLOGO=1 \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    NUGET_XMLDOC_MODE=skip \
    NUGET_CERT_REVOCATION_MODE=offline
COPY dotnet/ /usr/share/dotnet/
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \
 && dotnet --list-sdks
