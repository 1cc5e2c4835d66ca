"""The SDK's quick start: build echo_regs.py on a free board, drive it, give the board back.

    pip install ./sdk
    export FPGA_CLOUD_URL=http://127.0.0.1:8000 FPGA_CLOUD_API_KEY=fpk_...   # or fpga-cloud login
    python examples/sdk_quickstart.py

It prints what it does and exits 0 when every register read back what was written.
"""

from pathlib import Path

from fpga_cloud import Client

DESIGN = Path(__file__).with_name("echo_regs.py")


def main() -> None:
    with Client() as client:
        job = client.submit(DESIGN)  # the first idle board
        print(f"job {job.id} on board {job.board}")
        info = job.wait(timeout=300, on_progress=lambda j: print(f"  {j.stage}"))
        print(f"built in {sum((info.stages or {}).values()):.2f} s; window {info.window_size} bytes")
        with job.session() as session:  # released when the block ends
            session.write(0x0, [0xCAFE])  # one run job each
            assert session.read(0x0) == [0xCAFE]
            with session.stream() as bus:  # the Wishbone stream: no job per transaction
                bus.write(0x4, list(range(1, 16)))
                assert bus.read(0x4, 15) == list(range(1, 16))
            print(f"board {session.board}: registers read back what was written")
        print(f"board {session.board} released")


if __name__ == "__main__":
    main()
