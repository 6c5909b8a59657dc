// `npm run logs -- --stack <hpg|pubapps stack> [service]`: see scripts/status/args.ts (usage) and main.ts.
import { main } from "./status/main";

main("logs");
