from sergen.cli import main

main()
