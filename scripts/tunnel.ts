// `npm run tunnel -- --stack <hpg stack>`: see scripts/tunnel/main.ts.
import { main } from "./tunnel/main";

main();
