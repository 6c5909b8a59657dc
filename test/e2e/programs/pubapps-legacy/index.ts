// The pubapps target of sparc-deploy's index.ts as main had it before issue 22 (every remote step a
// command:local:Command over components/pubapps/transport.ts). Frozen: the copies beside this file are
// main's pubappsStack.ts, transport.ts, plan.ts, remote.ts and scripts/ssh-askpass.sh, imports pointed at the
// live modules they share with today's code (config, units, pod, images, ...). Same project name and
// component name as the real program, so its state is the state a user of main has.
import * as pulumi from "@pulumi/pulumi";
import { loadDevConfig } from "../../../../components/podConfig";
import { loadPubappsConfig } from "../../../../components/pubapps/config";
import { PubappsStack } from "./pubappsStack";

const config = new pulumi.Config();
const pubapps = new PubappsStack("sparc", { pubapps: loadPubappsConfig(config), dev: loadDevConfig(config, undefined, "pubapps") });
export = {
    publicUrl: pubapps.publicUrl,
    signalingUrl: pubapps.signalingUrl,
    podName: pubapps.podName,
    unitNames: pubapps.unitNames,
    imageIds: pubapps.imageIds,
    unitFormat: pubapps.unitFormat,
    podmanVersion: pubapps.podmanVersion,
    linger: pubapps.linger,
    readiness: pubapps.readiness,
    copyReports: pubapps.copyReports,
    receiverUrl: pubapps.receiverUrl,
    player: pubapps.player,
    publicCheck: pubapps.publicCheck,
};
