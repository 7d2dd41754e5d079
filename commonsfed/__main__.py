from commonsfed.cli import main

raise SystemExit(main())
