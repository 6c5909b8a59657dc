// `npm run status -- --stack <hpg|pubapps stack>`: see scripts/status/args.ts (usage) and main.ts.
import { main } from "./status/main";

main("status");
