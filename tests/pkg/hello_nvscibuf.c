/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Built against the installed OpenSCI through pkg-config opensci-nvscibuf: reconciles a RawBuffer list,
 * allocates, writes and reads through a read-only duplicate. */
#include <stdio.h>
#include <string.h>
#include <nvscibuf.h>

int main(void)
{
    NvSciBufModule m;
    NvSciBufAttrList l;
    NvSciBufObj o, ro;
    NvSciBufType t = NvSciBufType_RawBuffer;
    uint64_t size = 4096;
    bool cpu = true;
    void *p;
    const void *cp;
    NvSciBufAttrKeyValuePair kv[] = {
        { NvSciBufGeneralAttrKey_Types, &t, sizeof(t) },
        { NvSciBufRawBufferAttrKey_Size, &size, sizeof(size) },
        { NvSciBufGeneralAttrKey_NeedCpuAccess, &cpu, sizeof(cpu) },
    };
    if (NvSciBufModuleOpen(&m) != NvSciError_Success || NvSciBufAttrListCreate(m, &l) != NvSciError_Success ||
        NvSciBufAttrListSetAttrs(l, kv, 3) != NvSciError_Success ||
        NvSciBufAttrListReconcileAndObjAlloc(&l, 1, &o, NULL) != NvSciError_Success ||
        NvSciBufObjGetCpuPtr(o, &p) != NvSciError_Success ||
        NvSciBufObjDupWithReducePerm(o, NvSciBufAccessPerm_Readonly, &ro) != NvSciError_Success ||
        NvSciBufObjGetConstCpuPtr(ro, &cp) != NvSciError_Success)
        return 1;
    strcpy(p, "hello nvscibuf");
    printf("%s\n", (const char *)cp);
    NvSciBufObjFree(ro);
    NvSciBufObjFree(o);
    NvSciBufAttrListFree(l);
    NvSciBufModuleClose(m);
    return 0;
}
