/*
 * bcryptprimitives.dll for Wine 8 (Debian 12), which lacks it: Go 1.24 and
 * later take random bytes from its ProcessPrng at start-up. This one hands
 * the call to advapi32's RtlGenRandom (SystemFunction036). Built by
 * scripts/wine-test.sh into the throwaway Wine prefix of a test run; never
 * part of anything we ship.
 */
#include <windows.h>

typedef BOOLEAN(WINAPI *rtl_gen_random)(PVOID, ULONG);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    static rtl_gen_random gen;
    if (!gen) {
        HMODULE advapi = LoadLibraryA("advapi32.dll");
        if (!advapi) return FALSE;
        gen = (rtl_gen_random)GetProcAddress(advapi, "SystemFunction036");
        if (!gen) return FALSE;
    }
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!gen(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
