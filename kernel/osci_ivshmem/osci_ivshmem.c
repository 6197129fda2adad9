// SPDX-License-Identifier: GPL-2.0-only
/*
 * osci_ivshmem: the interrupt half of QEMU's ivshmem-doorbell device, for OpenSCI's pcishm driver.
 * It binds the ivshmem devices (1af4:1110) that have an MSI-X capability (ivshmem-plain has none and is
 * left alone), takes all their MSI-X vectors, and gives user space one character device per PCI device,
 * /dev/osci_ivshmem-<domain:bus:slot.fn>, mode 0600:
 *   read(8 bytes)  the mask of vectors raised since this open file last read; blocks until one is
 *                  (-EAGAIN with O_NONBLOCK); -ENODEV once the device is gone
 *   poll           POLLIN while such a vector is pending (POLLHUP once the device is gone)
 *   ioctl OSCI_IVSHMEM_IOC_LAST_WORDS  registers this open file's "last words": when the file is released
 *                  (closed, or its process exits or is killed), the module stores a 32-bit value at an
 *                  offset of BAR2 and rings a vector of a peer through the Doorbell register, so the peer
 *                  learns that the process is gone (NvSciIpc INTER_VM's CONN_RESET)
 * A vector raised before the open is not reported. The BARs are not requested: user space maps BAR0
 * (registers, 32-bit accesses only) and BAR2 (the shared memory) through sysfs, with libpciaccess, which
 * CONFIG_IO_STRICT_DEVMEM allows only for regions that no driver claims.
 */
#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#define OSCI_IVSHMEM_MAX_VECTORS 64
#define OSCI_IVSHMEM_REG_DOORBELL 12	/* BAR0 byte offset */

/* The ioctl's argument (common/osci_ivshmem.h has the same). */
struct osci_ivshmem_last_words {
	__u32 flags;			/* OSCI_IVSHMEM_LW_SET: register; 0: forget */
	__u32 offset;			/* in BAR2, a multiple of 4 */
	__u32 value;
	__u32 peer;			/* ivshmem id of the machine to ring */
	__u32 vector;
};
#define OSCI_IVSHMEM_LW_SET 1u
#define OSCI_IVSHMEM_IOC_LAST_WORDS _IOW('O', 0x61, struct osci_ivshmem_last_words)

struct osci_ivshmem;

struct osci_ivshmem_vector {
	struct osci_ivshmem *dev;
	atomic64_t raised;		/* interrupts seen on this vector */
};

struct osci_ivshmem {
	struct kref ref;		/* the PCI binding and every open file */
	struct pci_dev *pdev;
	struct miscdevice misc;
	char name[48];
	unsigned int nvec;
	bool gone;
	void __iomem *regs;		/* BAR0 and BAR2, mapped without requesting them (user space maps */
	void __iomem *mem;		/* them too): for the last words only */
	resource_size_t mem_size;
	struct mutex lw_lock;		/* the last words against the device's removal */
	wait_queue_head_t wq;
	struct osci_ivshmem_vector vec[OSCI_IVSHMEM_MAX_VECTORS];
};

struct osci_ivshmem_file {
	struct osci_ivshmem *dev;
	struct mutex lock;		/* seen[], lw */
	u64 seen[OSCI_IVSHMEM_MAX_VECTORS];
	struct osci_ivshmem_last_words lw;
};

static void osci_ivshmem_release_dev(struct kref *ref)
{
	kfree(container_of(ref, struct osci_ivshmem, ref));
}

static irqreturn_t osci_ivshmem_irq(int irq, void *arg)
{
	struct osci_ivshmem_vector *v = arg;

	atomic64_inc(&v->raised);
	wake_up_interruptible(&v->dev->wq);
	return IRQ_HANDLED;
}

/* The vectors raised since f last looked; with take, f now has seen them. */
static u64 osci_ivshmem_pending(struct osci_ivshmem_file *f, bool take)
{
	struct osci_ivshmem *dev = f->dev;
	u64 mask = 0;
	unsigned int i;

	for (i = 0; i < dev->nvec; i++) {
		u64 n = atomic64_read(&dev->vec[i].raised);

		if (n != f->seen[i]) {
			mask |= 1ULL << i;
			if (take)
				f->seen[i] = n;
		}
	}
	return mask;
}

static int osci_ivshmem_open(struct inode *inode, struct file *file)
{
	struct osci_ivshmem *dev = container_of(file->private_data, struct osci_ivshmem, misc);
	struct osci_ivshmem_file *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return -ENOMEM;
	f->dev = dev;
	mutex_init(&f->lock);
	kref_get(&dev->ref);
	osci_ivshmem_pending(f, true);
	file->private_data = f;
	return 0;
}

static int osci_ivshmem_close(struct inode *inode, struct file *file)
{
	struct osci_ivshmem_file *f = file->private_data;
	struct osci_ivshmem *dev = f->dev;

	if (f->lw.flags & OSCI_IVSHMEM_LW_SET) {
		mutex_lock(&dev->lw_lock);
		if (!dev->gone && dev->mem && dev->regs) {
			iowrite32(f->lw.value, dev->mem + f->lw.offset);
			wmb();	/* the word lands before the peer's interrupt */
			iowrite32(f->lw.peer << 16 | f->lw.vector, dev->regs + OSCI_IVSHMEM_REG_DOORBELL);
		}
		mutex_unlock(&dev->lw_lock);
	}
	kref_put(&f->dev->ref, osci_ivshmem_release_dev);
	kfree(f);
	return 0;
}

static ssize_t osci_ivshmem_read(struct file *file, char __user *buf, size_t len, loff_t *pos)
{
	struct osci_ivshmem_file *f = file->private_data;
	struct osci_ivshmem *dev = f->dev;
	u64 mask;
	int ret;

	if (len < sizeof(mask))
		return -EINVAL;
	for (;;) {
		if (mutex_lock_interruptible(&f->lock))
			return -ERESTARTSYS;
		mask = osci_ivshmem_pending(f, true);
		mutex_unlock(&f->lock);
		if (mask)
			break;
		if (READ_ONCE(dev->gone))
			return -ENODEV;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = wait_event_interruptible(dev->wq, osci_ivshmem_pending(f, false) || READ_ONCE(dev->gone));
		if (ret)
			return ret;
	}
	if (copy_to_user(buf, &mask, sizeof(mask)))
		return -EFAULT;
	return sizeof(mask);
}

static __poll_t osci_ivshmem_poll(struct file *file, poll_table *wait)
{
	struct osci_ivshmem_file *f = file->private_data;

	poll_wait(file, &f->dev->wq, wait);
	if (osci_ivshmem_pending(f, false))
		return EPOLLIN | EPOLLRDNORM;
	return READ_ONCE(f->dev->gone) ? EPOLLHUP : 0;
}

static long osci_ivshmem_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct osci_ivshmem_file *f = file->private_data;
	struct osci_ivshmem *dev = f->dev;
	struct osci_ivshmem_last_words lw;

	if (cmd != OSCI_IVSHMEM_IOC_LAST_WORDS)
		return -ENOTTY;
	if (copy_from_user(&lw, (void __user *)arg, sizeof(lw)))
		return -EFAULT;
	if (lw.flags & ~OSCI_IVSHMEM_LW_SET)
		return -EINVAL;
	if (lw.flags) {
		if (!dev->mem || !dev->regs)
			return -ENODEV;
		if (lw.offset % 4 || (resource_size_t)lw.offset + 4 > dev->mem_size || lw.peer > 0xffff ||
		    lw.vector > 0xff)
			return -EINVAL;
	}
	mutex_lock(&f->lock);
	f->lw = lw;
	mutex_unlock(&f->lock);
	return 0;
}

static const struct file_operations osci_ivshmem_fops = {
	.owner = THIS_MODULE,
	.open = osci_ivshmem_open,
	.release = osci_ivshmem_close,
	.read = osci_ivshmem_read,
	.poll = osci_ivshmem_poll,
	.unlocked_ioctl = osci_ivshmem_ioctl,
	.llseek = noop_llseek,
};

static int osci_ivshmem_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct osci_ivshmem *dev;
	unsigned int i;
	int nvec, ret;

	if (!pdev->msix_cap)
		return -ENODEV;		/* ivshmem-plain: no interrupts to serve */
	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	kref_init(&dev->ref);
	init_waitqueue_head(&dev->wq);
	dev->pdev = pdev;
	mutex_init(&dev->lw_lock);
	ret = pci_enable_device(pdev);
	if (ret)
		goto err_free;
	/* without the last words the device still serves interrupts */
	dev->regs = pci_iomap(pdev, 0, 256);
	dev->mem_size = pci_resource_len(pdev, 2);
	dev->mem = dev->mem_size ? pci_iomap(pdev, 2, 0) : NULL;
	pci_set_master(pdev);
	nvec = pci_msix_vec_count(pdev);
	if (nvec <= 0) {
		ret = nvec ? nvec : -ENODEV;
		goto err_disable;
	}
	nvec = min(nvec, OSCI_IVSHMEM_MAX_VECTORS);
	ret = pci_alloc_irq_vectors(pdev, nvec, nvec, PCI_IRQ_MSIX);
	if (ret < 0)
		goto err_disable;
	dev->nvec = nvec;
	snprintf(dev->name, sizeof(dev->name), "osci_ivshmem-%s", pci_name(pdev));
	for (i = 0; i < dev->nvec; i++) {
		dev->vec[i].dev = dev;
		ret = request_irq(pci_irq_vector(pdev, i), osci_ivshmem_irq, 0, dev->name, &dev->vec[i]);
		if (ret)
			goto err_irqs;
	}
	dev->misc.minor = MISC_DYNAMIC_MINOR;
	dev->misc.name = dev->name;
	dev->misc.fops = &osci_ivshmem_fops;
	dev->misc.parent = &pdev->dev;
	dev->misc.mode = 0600;
	ret = misc_register(&dev->misc);
	if (ret)
		goto err_irqs;
	pci_set_drvdata(pdev, dev);
	dev_info(&pdev->dev, "/dev/%s: %u MSI-X vectors\n", dev->name, dev->nvec);
	return 0;

err_irqs:
	while (i--)
		free_irq(pci_irq_vector(pdev, i), &dev->vec[i]);
	pci_free_irq_vectors(pdev);
err_disable:
	if (dev->mem)
		pci_iounmap(pdev, dev->mem);
	if (dev->regs)
		pci_iounmap(pdev, dev->regs);
	pci_disable_device(pdev);
err_free:
	kfree(dev);
	return ret;
}

static void osci_ivshmem_remove(struct pci_dev *pdev)
{
	struct osci_ivshmem *dev = pci_get_drvdata(pdev);
	unsigned int i;

	misc_deregister(&dev->misc);
	for (i = 0; i < dev->nvec; i++)
		free_irq(pci_irq_vector(pdev, i), &dev->vec[i]);
	pci_free_irq_vectors(pdev);
	mutex_lock(&dev->lw_lock);
	WRITE_ONCE(dev->gone, true);
	if (dev->mem)
		pci_iounmap(pdev, dev->mem);
	if (dev->regs)
		pci_iounmap(pdev, dev->regs);
	dev->mem = dev->regs = NULL;
	mutex_unlock(&dev->lw_lock);
	pci_disable_device(pdev);
	wake_up_interruptible_all(&dev->wq);
	kref_put(&dev->ref, osci_ivshmem_release_dev);
}

static const struct pci_device_id osci_ivshmem_ids[] = {
	{ PCI_DEVICE(0x1af4, 0x1110) },
	{ }
};
MODULE_DEVICE_TABLE(pci, osci_ivshmem_ids);

static struct pci_driver osci_ivshmem_driver = {
	.name = "osci_ivshmem",
	.id_table = osci_ivshmem_ids,
	.probe = osci_ivshmem_probe,
	.remove = osci_ivshmem_remove,
};
module_pci_driver(osci_ivshmem_driver);

MODULE_DESCRIPTION("OpenSCI: ivshmem-doorbell interrupts as a pollable character device");
MODULE_LICENSE("GPL");
